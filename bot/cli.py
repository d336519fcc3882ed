"""`python -m bot …`: chat in the console, check flows. Errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from bot import config, flowspec
from bot.content import load_content
from bot.conversation import Conversations
from bot.config import ConfigError, TelegramConfig, webhook_url
from bot.flowspec import FlowError
from bot.i18n import CatalogError
from bot.logsetup import configure_logging
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
    run = commands.add_parser("run", help="run the Telegram bot (settings from the environment; see README)")
    run.add_argument("--webhook", metavar="URL", help="receive updates on this public URL instead of polling")
    run.add_argument("--listen", default="127.0.0.1", help="address the webhook server listens on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8443, help="port the webhook server listens on (default 8443)")
    run.add_argument("--db", type=Path, help="SQLite file (default ./data/bot.sqlite3 or $BOT_DB)")
    run.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
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


async def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.transports.telegram import TelegramTransport, Webhook, build_application, serve

    settings = TelegramConfig.from_env(env)
    webhook_address = webhook_url(args.webhook) if args.webhook else None
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be between 1 and 65535, not {args.port}")
    flows = load_content(args.flows or config.flows_dir(env), config.locales_dir(env), date.today())
    keyring = Keyring(load_secret(env, config.secret_path(env)))
    configure_logging()
    store = await Store.open(args.db or config.db_path(env))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await store.purge(date.today().toordinal(), flows.settings.retention_days)
        transport = TelegramTransport(Conversations(flows, store, keyring), settings.staff_chat_id)
        application = build_application(transport, settings.token, settings.base_url, settings.base_file_url)
        webhook = None
        if webhook_address:
            webhook = Webhook(webhook_address, args.listen, args.port, keyring.token("telegram-webhook"))
        logging.getLogger("bot").info("starting (%s)", "webhook" if webhook else "long polling")
        await serve(application, transport, stop, webhook)
        logging.getLogger("bot").info("stopped cleanly")
    except InvalidToken:
        raise CliError("Telegram refused TELEGRAM_BOT_TOKEN: check it with BotFather") from None
    except NetworkError as exc:
        raise CliError(f"cannot reach the Bot API at {settings.api_url}: {type(exc).__name__}") from None
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
        if args.command == "run":
            return asyncio.run(_run(args, env))
        return asyncio.run(_chat(args, env))
    except FlowError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("error: the flows have errors; run `python -m bot check` for details", file=sys.stderr)
        return EXIT_PROBLEMS
    except (CliError, ConfigError, StoreError, SecretError, CatalogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK
