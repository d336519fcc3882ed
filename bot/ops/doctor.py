"""`python -m bot doctor` and the start-up check: is the staff group set up so that handoffs can work?

One line per problem, each with the fix in Telegram's own menu words. Nothing here prints or logs a
user's identity; the staff group's id is the operator's own setting.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import Any, TextIO

from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import TelegramError

from bot.config import TelegramConfig

SUPERGROUP_PREFIX = "-100"
ID_HINT = "send /id in the staff group and the bot answers with the group's id"


def staff_id_problem(staff_chat_id: int) -> str | None:
    """Topics live only in supergroups, whose ids start with -100 (turning Topics on changes the id)."""
    if str(staff_chat_id).startswith(SUPERGROUP_PREFIX):
        return None
    return ("STAFF_CHAT_ID is not a supergroup's id (those start with -100): turn Topics on "
            f"in the group (Edit → Topics), which gives it a new id, then {ID_HINT}.")


async def staff_group_problems(bot: Bot, staff_chat_id: int) -> list[str]:
    """Everything wrong with the staff group for handoffs, as lines an operator can act on."""
    problems = [p for p in (staff_id_problem(staff_chat_id),) if p]
    try:
        chat = await bot.get_chat(staff_chat_id)
    except TelegramError as exc:
        return [*problems, (f"The bot can't open the staff group ({exc.message}): add the bot to the group "
                            f"(Add Members → search for the bot), and check STAFF_CHAT_ID ({ID_HINT}).")]
    if chat.type != chat.SUPERGROUP:
        problems.append("The staff group is a basic group: turn Topics on (Edit → Topics), which makes it a "
                        f"supergroup with a new id, then {ID_HINT}.")
    elif not chat.is_forum:
        problems.append("Topics are off in the staff group, so cases can't have their own topics: "
                        "turn them on in Edit → Topics.")
    try:
        member: ChatMember = await bot.get_chat_member(staff_chat_id, bot.id)
    except TelegramError as exc:
        return [*problems, (f"The bot can't see its own rights in the staff group ({exc.message}): "
                            "add it as an admin (Edit → Administrators → Add Admin).")]
    if not isinstance(member, ChatMemberAdministrator):
        problems.append("The bot is not an admin of the staff group: Edit → Administrators → Add Admin → "
                        "choose the bot, with Manage Topics and Delete Messages on.")
        return problems
    rights: dict[str, Any] = {"Manage Topics": member.can_manage_topics, "Delete Messages": member.can_delete_messages}
    for name, allowed in rights.items():
        if not allowed:
            problems.append(f"The bot may not {name.lower()} in the staff group: Edit → Administrators → "
                            f"the bot → turn on {name}.")
    return problems


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `doctor` subcommand."""
    commands.add_parser("doctor", help="check the set-up: the staff group, its topics and the bot's rights")


async def _doctor(settings: TelegramConfig, out: TextIO) -> int:
    try:
        async with Bot(settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url) as bot:
            problems = await staff_group_problems(bot, settings.staff_chat_id)
    except TelegramError as exc:
        problems = [(f"Telegram can't be asked ({type(exc).__name__}: {exc.message}): check TELEGRAM_BOT_TOKEN "
                     "with BotFather and that the Bot API can be reached.")]
    out.writelines(f"problem: {problem}\n" for problem in problems)
    if not problems:
        out.write("The staff group is ready: a supergroup with topics, the bot an admin that may manage topics "
                  "and delete messages.\n")
    return 1 if problems else 0


def cmd_doctor(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    """Run the checks and print one line per problem; exit 1 when there is any."""
    return asyncio.run(_doctor(TelegramConfig.from_env(env), out))
