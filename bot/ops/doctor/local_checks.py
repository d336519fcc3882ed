"""The checks that need no call to Telegram: Python and its packages, the flows, the time zone, the
data folder and database, and the secret."""

from __future__ import annotations

import importlib.metadata
import re
import sqlite3
import stat
import sys
import zoneinfo
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import yaml

from bot import config
from bot.config import ConfigError
from bot.flows import FlowError
from bot.flows.content import load_content
from bot.i18n.catalog import CatalogError
from bot.ops.doctor.findings import Clock, ok, problem
from bot.privacy.keys import Finding, secret_findings
from bot.store.sqlite import COMPANIONS, MIGRATIONS

MIN_PYTHON = (3, 11)
# What `pip install -e .` brings, for a checkout run without being installed.
REQUIREMENTS = ("python-telegram-bot>=22,<23", "pyyaml>=6.0", "babel>=2.14", "cryptography>=42", "holidays>=0.50")
REINSTALL = "run `.venv/bin/pip install -e .` in the code's folder"


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
