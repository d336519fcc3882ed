"""`python -m bot …`: chat in the console, check flows. Errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from bot.cli import tools as cli_tools
from bot.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, NEW_SECRET_HELP
from bot.cli.content import cmd_check, cmd_i18n
from bot.cli.running import run_bot, run_chat
from bot.errors import BotError
from bot.flows import FlowError
from bot.ops import backup, doctor


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Signpost bot.")
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="chat with the bot in this terminal (no token needed)")
    chat.add_argument("--lang", help="language code to start in, e.g. en or ro")
    chat.add_argument("--db", type=Path, help="SQLite file (default ./data/bot.sqlite3 or $BOT_DB)")
    chat.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    chat.add_argument("--new-secret", action="store_true", help=NEW_SECRET_HELP)
    chat.add_argument(
        "--style",
        choices=("plain", "signal"),
        default="plain",
        help="signal: show replies as a Signal user sees them (numbered text, no buttons)",
    )
    run = commands.add_parser("run", help="run the Telegram bot (settings from the environment; see README)")
    run.add_argument("--webhook", metavar="URL", help="receive updates on this public URL instead of polling")
    run.add_argument("--listen", default="127.0.0.1", help="address the webhook server listens on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8443, help="port the webhook server listens on (default 8443)")
    run.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="serve GET /healthz on --listen at this port (default with --webhook: --port + 1; without: off)",
    )
    run.add_argument("--db", type=Path, help="SQLite file (default ./data/bot.sqlite3 or $BOT_DB)")
    run.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    run.add_argument(
        "--no-watch",
        action="store_true",
        help="don't reload when flows/ or locales/ change; reload only on SIGHUP or /reload",
    )
    run.add_argument("--new-secret", action="store_true", help=NEW_SECRET_HELP)
    check = commands.add_parser("check", help="validate the flows and print every problem")
    check.add_argument("dir", nargs="?", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    check.add_argument("--locales", type=Path, help="translations folder (default ./locales or $BOT_LOCALES)")
    check.add_argument(
        "--conversations",
        nargs="?",
        const=Path("tests/conversations"),
        type=Path,
        metavar="DIR",
        help="also replay the conversation scripts in DIR (default tests/conversations)",
    )
    check.add_argument(
        "--strict", action="store_true", help="every text must be translated (not just crisis and safety texts)"
    )
    i18n = commands.add_parser(
        "i18n", help="translations: extract the English, update each language's catalog, compile"
    )
    i18n.add_argument(
        "action",
        choices=("extract", "update", "compile"),
        help="extract: flows -> locales/messages.pot; update: extract, then create/update every language's .po; "
        "compile: .po -> .mo (not needed to run the bot)",
    )
    i18n.add_argument("--locale", metavar="CODE", help="only this language, e.g. ro, pt_BR, zh_Hans (default: all)")
    i18n.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    i18n.add_argument("--locales", type=Path, help="translations folder (default ./locales or $BOT_LOCALES)")
    cli_tools.add_parsers(commands)
    backup.add_parsers(commands)
    doctor.add_parser(commands)
    return parser


Command = Callable[[argparse.Namespace, Mapping[str, str], TextIO], int]


def _dispatch(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run the chosen subcommand; `chat` when none is given."""
    commands: dict[str, Command] = {
        "check": cmd_check,
        "i18n": cmd_i18n,
        "graph": cli_tools.cmd_graph,
        "stats": cli_tools.cmd_stats,
        "backup": backup.cmd_backup,
        "restore": backup.cmd_restore,
        "doctor": doctor.cmd_doctor,
    }
    if args.command in commands:
        return commands[args.command](args, env, sys.stdout)
    if args.command == "run":
        return asyncio.run(run_bot(args, env))
    return asyncio.run(run_chat(args, env))


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    try:
        return _dispatch(args, env)
    except FlowError as exc:  # every problem on its own line first, then the one line of any BotError
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("error: the flows have errors; run `python -m bot check` for details", file=sys.stderr)
        return EXIT_PROBLEMS
    except BotError as exc:
        print(f"error: {exc.operator_message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`… | head`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
