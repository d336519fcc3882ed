"""`python -m bot …`: chat in the console, check flows. Errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from bot import config, flowspec
from bot.content import load_content
from bot.conversation import Conversations
from bot.flowspec import FlowError
from bot.i18n import CatalogError
from bot.privacy import Keyring, SecretError, load_secret
from bot.store import Store, StoreError
from bot.transports.console import ConsoleChat

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A problem the operator can fix; printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Signpost bot.")
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="chat with the bot in this terminal (no token needed)")
    chat.add_argument("--lang", help="language code to start in, e.g. en or ro")
    chat.add_argument("--db", type=Path, help="SQLite file (default ./data/bot.sqlite3 or $BOT_DB)")
    chat.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    check = commands.add_parser("check", help="validate the flows and print every problem")
    check.add_argument("dir", nargs="?", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    return parser


def cmd_check(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    directory = args.dir or config.flows_dir(env)
    report = flowspec.check(directory, today=date.today())
    for problem in report.problems:
        out.write(f"{problem}\n")
    if report.flowset is None:
        out.write(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s): the flows were NOT loaded.\n")
        return EXIT_PROBLEMS
    flowset = report.flowset
    out.write(
        f"OK: {len(flowset.flows)} flows, {len(flowset.nodes)} nodes, {len(flowset.triggers)} triggers, "
        f"{len(flowset.services)} services; {len(report.warnings)} warning(s).\n"
    )
    return EXIT_OK


async def _chat(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    flows = load_content(args.flows or config.flows_dir(env), config.locales_dir(env), date.today())
    if args.lang and args.lang not in flows.settings.languages:
        offered = ", ".join(flows.settings.languages)
        raise CliError(f"language `{args.lang}` is not offered (offered: {offered}; see flows/settings.yaml)")
    keyring = Keyring(load_secret(env, config.secret_path(env)))
    store = await Store.open(args.db or config.db_path(env))
    try:
        today = date.today().toordinal()
        await store.purge(today, flows.settings.retention_days)
        chat = ConsoleChat(
            Conversations(flows, store, keyring), sys.stdin, sys.stdout, args.lang, interactive=sys.stdin.isatty()
        )
        await chat.run()
    finally:
        await store.close()
    return EXIT_OK


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    try:
        if args.command == "check":
            return cmd_check(args, env, sys.stdout)
        return asyncio.run(_chat(args, env))
    except FlowError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("error: the flows have errors; run `python -m bot check` for details", file=sys.stderr)
        return EXIT_PROBLEMS
    except (CliError, StoreError, SecretError, CatalogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
