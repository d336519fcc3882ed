"""`python -m bot chat` and `python -m bot run`: the bot in a terminal, or serving Telegram and Signal."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from bot import config
from bot.cli.common import EXIT_OK, CliError, open_with_secret
from bot.config import SignalConfig, TelegramConfig, webhook_url
from bot.conversation import Conversations
from bot.flows.content import load_content
from bot.handoff.service import Handoffs
from bot.ops.logsetup import configure_logging
from bot.ops.monitor import Monitor, health_address
from bot.runtime import Runtime
from bot.transports.console import ConsoleChat

if TYPE_CHECKING:
    from bot.replicas.serve import ReplicaSettings


async def run_chat(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    flows = load_content(args.flows or config.flows_dir(env), config.locales_dir(env), date.today(), live=True)
    if args.lang and args.lang not in flows.settings.languages:
        offered = ", ".join(flows.settings.languages)
        raise CliError(f"language `{args.lang}` is not offered (offered: {offered}; see flows/settings.yaml)")
    keyring, store = await open_with_secret(args, env, console=True)
    try:
        runtime = Runtime(Conversations(flows, store, keyring))  # no reloads in a terminal chat
        await runtime.purge_daily()
        chat = ConsoleChat(runtime, sys.stdin, sys.stdout, args.lang, interactive=sys.stdin.isatty(), style=args.style)
        await chat.run()
    finally:
        await store.close()
    return EXIT_OK


async def run_bot(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.transports.telegram.app import (
        TelegramTransport,
        Webhook,
        build_application,
        serve,
    )

    signal_settings = SignalConfig.from_env(env)
    # Signal alone needs no Telegram settings; without Signal's, Telegram's are required as before.
    telegram_on = signal_settings is None or bool(env.get("TELEGRAM_BOT_TOKEN"))
    settings = TelegramConfig.from_env(env) if telegram_on else None
    webhook_address = webhook_url(args.webhook) if args.webhook else None
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be between 1 and 65535, not {args.port}")
    flows_dir, locales_dir = args.flows or config.flows_dir(env), config.locales_dir(env)
    flows = load_content(flows_dir, locales_dir, date.today(), live=True)
    configure_logging()
    # On PostgreSQL, Telegram runs as one replica of possibly several (bot/replicas/): any number may run.
    database_url = config.database_url(env) if args.db is None else None
    replica_settings = _replica_settings(env) if telegram_on and database_url else None
    keyring, store = await open_with_secret(args, env, console=False, replicas=replica_settings is not None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        runtime = Runtime.build(flows, store, keyring, flows_dir, locales_dir, watch=not args.no_watch)
        await runtime.purge_daily()
        # What start-up built (flows, catalogs, libraries) lives as long as the process: kept out of the
        # collector's scans, a full collection no longer pauses the loop for tens of milliseconds.
        gc.freeze()
        reloader = runtime.reloader
        assert reloader is not None  # Runtime.build always makes one
        loop.add_signal_handler(signal.SIGHUP, reloader.request)
        if not telegram_on:
            logging.getLogger("bot").info("starting (Signal only)")
            await _start_signal(signal_settings, runtime, stop, alone=True)  # type: ignore[misc]
            logging.getLogger("bot").info("stopped cleanly")
            return EXIT_OK
        assert settings is not None
        transport = TelegramTransport(runtime.conversations, settings.staff_chat_id, core=runtime)
        # Signal beside Telegram: notices for operators (a captcha to solve) also go to the staff group.
        signal_task = _start_signal(
            signal_settings, runtime, stop, alone=False, notify=transport.post_to_staff, handoffs=transport.handoffs
        )  # Signal users' cases open in the same staff group
        application = build_application(transport, settings.token, settings.base_url, settings.base_file_url)
        webhook = None
        if webhook_address:
            webhook = Webhook(webhook_address, args.listen, args.port, keyring.token("telegram-webhook"))
        logging.getLogger("bot").info("starting (%s)", "webhook" if webhook else "long polling")
        monitor = Monitor.attach(application, transport.post_to_staff, store.secret_check, webhook_address)
        await monitor.start(health_address(args, webhook_address))
        try:
            if replica_settings is not None and database_url is not None:
                from bot.replicas.serve import serve_replica

                await serve_replica(application, transport, stop, database_url, replica_settings, webhook)
            else:
                await serve(application, transport, stop, webhook, poll_errors=monitor.on_poll_error)
        finally:
            await monitor.stop()
        if signal_task is not None:
            await signal_task
        logging.getLogger("bot").info("stopped cleanly")
    except InvalidToken:
        raise CliError("Telegram refused TELEGRAM_BOT_TOKEN: check it with BotFather") from None
    except NetworkError as exc:
        where = settings.shown_api_url if settings else ""
        raise CliError(f"cannot reach the Bot API at {where}: {type(exc).__name__}") from None
    finally:
        stop.set()  # a Signal task beside a failed Telegram one stops too
        await store.close()
    return EXIT_OK


def _replica_settings(env: Mapping[str, str]) -> ReplicaSettings:
    from bot.replicas.serve import ReplicaSettings

    return ReplicaSettings.from_env(env)


def _start_signal(
    settings: SignalConfig | None,
    runtime: Runtime,
    stop: asyncio.Event,
    alone: bool,
    notify: Callable[[str], Awaitable[None]] | None = None,
    handoffs: Handoffs | None = None,
) -> asyncio.Task[None] | None:
    """Serve Signal beside Telegram (or alone, then with the runtime's chores and reload watcher) until `stop`."""
    if settings is None:
        return None
    from bot.transports.signal.transport import SignalTransport

    transport = SignalTransport(runtime.conversations, settings.socket, notify_staff=notify, handoffs=handoffs)

    async def serve() -> None:
        if not alone:
            await transport.serve(stop)  # Telegram's side runs the chores
            return
        async with runtime.running():
            await transport.serve(stop)

    return asyncio.create_task(serve())
