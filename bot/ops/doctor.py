"""`python -m bot doctor` and the start-up check: is everything in place for the bot to serve people?

Python and its packages, the flows, the time zone, the data folder and the secret, then what Telegram
says: the token, the staff group, the webhook. One line per check, each problem with its fix (in
Telegram's own menu words where it is a Telegram setting). Nothing here prints or logs a user's
identity; the staff group's id and the webhook address are the operator's own settings.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import re
import sqlite3
import stat
import sys
import zoneinfo
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import yaml
from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import config
from bot.config import ConfigError, TelegramConfig
from bot.flows import FlowError
from bot.flows.content import load_content
from bot.i18n.catalog import CatalogError
from bot.privacy.keys import Finding, secret_findings
from bot.store.sqlite.connection import COMPANIONS
from bot.store.sqlite.schema import MIGRATIONS

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


MIN_PYTHON = (3, 11)
# What `pip install -e .` brings, for a checkout run without being installed.
REQUIREMENTS = ("python-telegram-bot>=22,<23", "pyyaml>=6.0", "babel>=2.14", "cryptography>=42", "holidays>=0.50")
REINSTALL = "run `.venv/bin/pip install -e .` in the code's folder"
# A delivery error this recent, or with updates waiting, means the webhook is failing now.
RECENT_ERROR = timedelta(hours=1)
Clock = Callable[[], datetime]


def ok(text: str) -> Finding:
    return Finding(True, text)


def problem(text: str) -> Finding:
    return Finding(False, text)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _requirement_problem(requirement: str) -> str | None:
    """Why `name>=x,<y` is not met here; None when it is."""
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip()
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return f"the package {name} is not installed: {REINSTALL}"
    for op, wanted in re.findall(r"(>=|<)\s*([\d.]+)", requirement.split(";")[0]):
        have, want = _version(installed), _version(wanted)
        if (op == ">=" and have < want) or (op == "<" and have >= want):
            return f"{name} {installed} is installed but the bot needs {name}{op}{wanted}: {REINSTALL}"
    return None


def python_findings(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> list[Finding]:
    """Python new enough, and every package the bot needs installed in a version it works with."""
    shown = ".".join(map(str, version))
    if version[:2] < MIN_PYTHON:
        return [
            problem(
                f"Python {shown} is too old: the bot needs 3.11 or later (Debian 12 and Ubuntu 24.04 have it); "
                "make the venv again with a newer python3"
            )
        ]
    try:
        requirements = [r for r in importlib.metadata.requires("signpost-bot") or [] if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        requirements = list(REQUIREMENTS)
    problems = [p for p in map(_requirement_problem, requirements) if p]
    if problems:
        return [problem(p) for p in problems]
    return [ok(f"Python {shown} and the packages the bot needs are installed")]


def flows_findings(env: Mapping[str, str], today: datetime) -> list[Finding]:
    """The flows and their translations load as the bot would load them."""
    flows, locales = config.flows_dir(env), config.locales_dir(env)
    try:
        flowset = load_content(flows, locales, today.date())
    except FlowError as exc:
        return [
            problem(
                f"the flows in {flows} have {len(exc.problems)} problem(s) and would not load: "
                f"run `python -m bot check {flows}` to see them with their fixes"
            )
        ]
    except CatalogError as exc:
        return [problem(f"the translations in {locales} can't be read ({exc}): run `python -m bot check`")]
    return [ok(f"the flows in {flows} load: {len(flowset.flows)} flows, {len(flowset.settings.languages)} languages")]


def time_zone_findings(env: Mapping[str, str], clock: Clock) -> list[Finding]:
    """settings.yaml's time zone is known here, and what the time is there now (staff hours use it)."""
    settings = config.flows_dir(env) / "settings.yaml"
    try:
        data = yaml.safe_load(settings.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []  # the flows check has said why
    name = str(data.get("time_zone", "Europe/London")) if isinstance(data, dict) else "Europe/London"
    try:
        zone = zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not zoneinfo.available_timezones():
            return [
                problem(
                    f"this server knows no time zones, so `{name}` can't be used: install them "
                    "(`sudo apt-get install tzdata`, or `pip install tzdata` in the venv)"
                )
            ]
        return [
            problem(
                f"the time zone `{name}` in {settings} is unknown: use a name like Europe/London "
                "(`timedatectl list-timezones` lists them)"
            )
        ]
    now = clock().astimezone(zone)
    return [
        ok(
            f"the time zone is {name}: it is {now:%a %d %b %H:%M} ({now.tzname()}) there now, "
            "which staff hours and closures follow"
        )
    ]


def _mode_problem(path: Path, allowed: int, fix: str) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed & 0o777:
        return f"{path} can be read or changed by others (mode {mode:04o}): {fix}"
    return None


def _schema(db: Path) -> int | None:
    try:
        reader = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(reader.execute("PRAGMA user_version").fetchone()[0])
        finally:
            reader.close()
    except sqlite3.Error:
        return None


def data_findings(db: Path) -> list[Finding]:
    """The data folder and database: where they are, private to the bot's user, a schema this code reads."""
    folder = db.parent
    if not folder.exists():
        return [
            ok(
                f"there is no data folder {folder} yet: `run` makes it (mode 0700) with the database; "
                "if the bot has run before, BOT_HOME or BOT_DB points to the wrong place"
            )
        ]
    if not db.exists():
        return [
            ok(
                f"there is no database at {db} yet: `run` makes it; if the bot has run before, "
                "BOT_HOME or BOT_DB points to the wrong place"
            )
        ]
    findings: list[Finding] = []
    folder_problem = _mode_problem(folder, 0o700, f"run `chmod 700 {folder}`")
    if folder_problem:
        findings.append(problem(folder_problem))
    for path in (db, *(db.with_name(db.name + suffix) for suffix in COMPANIONS)):
        if path.exists():
            file_problem = _mode_problem(path, 0o600, f"run `chmod 600 {path}`")
            if file_problem:
                findings.append(problem(file_problem))
    schema = _schema(db)
    if schema is None:
        findings.append(
            problem(f"{db} can't be read as an SQLite database: restore it from a backup (docs/operations.md, Restore)")
        )
    elif schema > len(MIGRATIONS):
        findings.append(
            problem(
                f"the database's schema (version {schema}) is newer than this code "
                f"(version {len(MIGRATIONS)}): install the newer code again"
            )
        )
    if not findings:
        upgrade = "" if schema == len(MIGRATIONS) else f", upgraded to {len(MIGRATIONS)} at the next start"
        findings.append(ok(f"the database {db} is private to the bot's user (schema version {schema}{upgrade})"))
    return findings


def local_findings(env: Mapping[str, str], clock: Clock) -> list[Finding]:
    """Every check that needs no call to Telegram."""
    db = config.db_path(env)
    try:
        data = [] if config.database_url(env) else data_findings(db)  # PostgreSQL: database_findings
    except ConfigError as exc:
        data = [problem(str(exc))]
    return [
        *python_findings(),
        *flows_findings(env, clock()),
        *time_zone_findings(env, clock),
        *data,
        *secret_findings(env, db, config.data_secret_path(env)),
    ]


async def database_findings(env: Mapping[str, str]) -> list[Finding]:
    """With BOT_DATABASE_URL: the PostgreSQL database answers, has this code's schema, and logs nobody's data."""
    try:
        url = config.database_url(env)
    except ConfigError:
        return []  # local_findings said so
    if url is None:
        return []
    from bot.store import StoreError
    from bot.store.postgres import PostgresStore

    try:
        store = await PostgresStore.open(url, read_only=True, pool_size=1)
    except StoreError as exc:
        return [problem(f"{exc}: check BOT_DATABASE_URL, that the server runs and the bot's role may connect")]
    try:
        logging_problems = await store.log_setting_problems()
    finally:
        await store.close()
    found = [ok(f"the PostgreSQL database {store.shown} answers with this code's schema")]
    found += [
        problem(
            f"the PostgreSQL server's {each}, so its log could hold people's data: set it in "
            "postgresql.conf (docs/deploy.md, PostgreSQL)"
        )
        for each in logging_problems
    ]
    return found


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


def utc_now() -> datetime:
    """The clock doctor reads."""
    return datetime.now(UTC)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `doctor` subcommand."""
    doctor = commands.add_parser(
        "doctor",
        help="check the set-up: Python, flows, time zone, data and secret, token, staff group, webhook",
    )
    doctor.add_argument("--webhook", metavar="URL", help="the --webhook the bot runs with (default: long polling)")


async def run_doctor(env: Mapping[str, str], out: TextIO, webhook: str | None = None, clock: Clock = utc_now) -> int:
    """Every check, one line each ("ok: …" or "problem: … fix"); 0 when all pass, else 1."""
    findings = local_findings(env, clock)
    findings += await database_findings(env)
    try:
        settings: TelegramConfig | None = TelegramConfig.from_env(env)
    except ConfigError as exc:
        settings = None
        findings.append(problem(f"{exc} (in /etc/signpost-bot/env or .env)"))
    if settings is not None:
        findings += await telegram_findings(settings, webhook, clock)
    out.writelines(f"{'ok' if f.ok else 'problem'}: {f.text}\n" for f in findings)
    failed = sum(not f.ok for f in findings)
    out.write(f"{failed} problem(s): fix them and run doctor again.\n" if failed else "Everything is ready.\n")
    return 1 if failed else 0


def cmd_doctor(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    """Run the checks and print one line per check; exit 1 when any fails."""
    return asyncio.run(run_doctor(env, out, getattr(args, "webhook", None)))
