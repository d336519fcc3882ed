"""What Telegram says about the set-up: the token, the staff group, the webhook.

Each problem comes with its fix, in Telegram's own menu words where it is a Telegram setting. The staff
group's id and the webhook address are the operator's own settings, not anyone's identity.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import TelegramConfig
from bot.ops.doctor.findings import Clock, ok, problem
from bot.privacy.keys import Finding

SUPERGROUP_PREFIX = "-100"
ID_HINT = "send /id in the staff group and the bot answers with the group's id"


def staff_id_problem(staff_chat_id: int) -> str | None:
    """Topics live only in supergroups, whose ids start with -100 (turning Topics on changes the id)."""
    if str(staff_chat_id).startswith(SUPERGROUP_PREFIX):
        return None
    return (
        "STAFF_CHAT_ID is not a supergroup's id (those start with -100): turn Topics on "
        f"in the group (Edit → Topics), which gives it a new id, then {ID_HINT}."
    )


async def staff_group_problems(bot: Bot, staff_chat_id: int) -> list[str]:
    """Everything wrong with the staff group for handoffs, as lines an operator can act on."""
    problems = [p for p in (staff_id_problem(staff_chat_id),) if p]
    try:
        chat = await bot.get_chat(staff_chat_id)
    except TelegramError as exc:
        return [
            *problems,
            (
                f"The bot can't open the staff group ({exc.message}): add the bot to the group "
                f"(Add Members → search for the bot), and check STAFF_CHAT_ID ({ID_HINT})."
            ),
        ]
    if chat.type != chat.SUPERGROUP:
        problems.append(
            "The staff group is a basic group: turn Topics on (Edit → Topics), which makes it a "
            f"supergroup with a new id, then {ID_HINT}."
        )
    elif not chat.is_forum:
        problems.append(
            "Topics are off in the staff group, so cases can't have their own topics: turn them on in Edit → Topics."
        )
    try:
        member: ChatMember = await bot.get_chat_member(staff_chat_id, bot.id)
    except TelegramError as exc:
        return [
            *problems,
            (
                f"The bot can't see its own rights in the staff group ({exc.message}): "
                "add it as an admin (Edit → Administrators → Add Admin)."
            ),
        ]
    if not isinstance(member, ChatMemberAdministrator):
        problems.append(
            "The bot is not an admin of the staff group: Edit → Administrators → Add Admin → "
            "choose the bot, with Manage Topics and Delete Messages on."
        )
        return problems
    rights: dict[str, Any] = {"Manage Topics": member.can_manage_topics, "Delete Messages": member.can_delete_messages}
    for name, allowed in rights.items():
        if not allowed:
            problems.append(
                f"The bot may not {name.lower()} in the staff group: Edit → Administrators → the bot → turn on {name}."
            )
    return problems


# A delivery error this recent, or with updates waiting, means the webhook is failing now.
RECENT_ERROR = timedelta(hours=1)


async def webhook_findings(bot: Bot, webhook: str | None, clock: Clock) -> list[Finding]:
    """What Telegram has registered against how the bot runs (`webhook`: run's --webhook, None for polling)."""
    info = await bot.get_webhook_info()
    waiting = f"{info.pending_update_count} update(s) waiting at Telegram"
    if not webhook:
        if info.url:
            return [
                problem(
                    f"Telegram has a webhook registered ({info.url}), so long polling gets no updates: if the "
                    "bot runs with --webhook, give doctor the same --webhook; otherwise another copy of the "
                    "bot set it: stop that copy, then restart this one (it removes the webhook as it starts)"
                )
            ]
        return [ok(f"no webhook is registered, as long polling needs ({waiting})")]
    if info.url != webhook:
        registered = f"Telegram has {info.url} registered" if info.url else "Telegram has no webhook registered"
        return [
            problem(
                f"{registered}, not {webhook}: start the bot with --webhook {webhook} (it registers "
                "the address as it starts); if it runs so already, another copy of the bot changed it: stop that copy"
            )
        ]
    error = info.last_error_date
    if error is not None:
        when = error if error.tzinfo else error.replace(tzinfo=UTC)
        recent = clock() - when < RECENT_ERROR
        if recent or info.pending_update_count:
            return [
                problem(
                    f"Telegram could not deliver to {webhook} at {when:%Y-%m-%d %H:%M} UTC "
                    f"({info.last_error_message}; {waiting}): check that the bot runs, that the web server "
                    "passes the address to the bot's --listen and --port, and that its certificate is valid"
                )
            ]
    return [ok(f"the webhook {webhook} is registered ({waiting})")]


async def telegram_findings(settings: TelegramConfig, webhook: str | None, clock: Clock) -> list[Finding]:
    """The token (getMe), the staff group, the webhook; the first that fails ends the calls."""
    try:
        async with Bot(settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url) as bot:
            findings = [ok(f"the token works: the bot is @{bot.username}")]
            staff = await staff_group_problems(bot, settings.staff_chat_id)
            findings += [problem(p) for p in staff] or [
                ok(
                    "the staff group is ready: a supergroup with topics, the bot an admin that may manage topics "
                    "and delete messages"
                )
            ]
            findings += await webhook_findings(bot, webhook, clock)
    except InvalidToken:
        return [
            problem(
                "Telegram refused TELEGRAM_BOT_TOKEN: copy it again from @BotFather (/mybots → the bot → "
                "API Token), or /revoke it there for a new one"
            )
        ]
    except NetworkError as exc:
        return [
            problem(
                f"the Bot API at {settings.shown_api_url} can't be reached ({type(exc).__name__}: "
                f"{exc.message}): check the server's internet connection, DNS and firewall "
                "(outgoing HTTPS), and TELEGRAM_API_URL if you set it"
            )
        ]
    except TelegramError as exc:
        return [
            problem(
                f"Telegram refused a check ({type(exc).__name__}: {exc.message}): check TELEGRAM_BOT_TOKEN "
                "with BotFather"
            )
        ]
    return findings
