"""`python -m bot doctor` and the start-up check: every check, printed one line each, problems with their fix."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import TextIO

from bot.config import ConfigError, TelegramConfig
from bot.ops.doctor.findings import Clock, problem, utc_now
from bot.ops.doctor.local_checks import database_findings, local_findings
from bot.ops.doctor.telegram_checks import telegram_findings


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
