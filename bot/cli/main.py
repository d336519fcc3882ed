"""`python -m bot …`: chat in the console, check flows. Errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import bot.flows as flowspec
from bot import config
from bot.cli import tools as cli_tools
from bot.config import SignalConfig, TelegramConfig, webhook_url
from bot.conversation import Conversations
from bot.errors import BotError
from bot.flows import FlowError, FlowSet
from bot.flows.content import load_content, misnamed_problems
from bot.flows.convtest import load_scripts, run_scripts
from bot.flows.lint import lint, review_status
from bot.handoff.service import Handoffs
from bot.i18n import cycle as catalogs
from bot.i18n.coverage import measure
from bot.i18n.cycle import I18nError, shown_path
from bot.i18n.rule import translations
from bot.ops import backup, doctor
from bot.ops.logsetup import configure_logging
from bot.ops.monitor import Monitor, health_address
from bot.privacy.discretion import preview_problems
from bot.privacy.keys import Binding, Keyring, bind_secret, find_secret
from bot.runtime import Runtime
from bot.store import Store, open_store
from bot.transports.console import ConsoleChat

if TYPE_CHECKING:
    from bot.replicas.serve import ReplicaSettings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


NEW_SECRET_HELP = (
    "use this secret although the database was used with another (lost) one: its sessions and open "
    "cases are deleted, the anonymous counters kept"
)


class CliError(BotError):
    """A problem the operator can fix; printed as one line."""


async def open_with_secret(
    args: argparse.Namespace, env: Mapping[str, str], *, console: bool, replicas: bool = False
) -> tuple[Keyring, Store]:
    """Find the secret (the console may make one in ./data), open the database and check they belong together.

    `replicas`: the PostgreSQL store whose turns also mark the update they come from as processed.
    """
    where = args.db or config.store_location(env)  # an SQLite file, or BOT_DATABASE_URL's PostgreSQL
    db = where if isinstance(where, Path) else None
    secret = find_secret(env, config.data_secret_path(env), create_default=console)
    beside = db is not None and secret.path is not None and secret.path.parent.resolve() == db.parent.resolve()
    if not console and beside:
        print(
            f"warning: {secret.where} is in the same folder as the database, so one copy of that folder unlocks "
            "it: move it elsewhere and set BOT_SECRET_FILE (see docs/privacy.md).",
            file=sys.stderr,
        )
    keyring = Keyring(secret.value)
    # The console may run beside the bot on its database: it leaves checkpoints to the bot then.
    if replicas and isinstance(where, str):
        from bot.replicas.store import ReplicaStore  # psycopg only where PostgreSQL is used

        store: Store = await ReplicaStore.open(where)
    else:
        store = await open_store(where, checkpoints=not console)
    try:
        check = keyring.check_value()
        binding = bind_secret(secret, check, await store.secret_check(), await store.holds_people(), args.new_secret)
        if binding is Binding.RECORD:
            await store.set_secret_check(check)
        elif binding is Binding.START_OVER:
            await store.start_over(check)
            print(
                "note: started over with a new secret: the saved sessions and open cases were deleted.", file=sys.stderr
            )
    except BaseException:
        await store.close()
        if secret.created and secret.path is not None:
            secret.path.unlink(missing_ok=True)  # else the next start would take it for the right one
        raise
    if console and secret.created and not env.get("BOT_SECRET_FILE"):
        print(
            f"note: made a new secret in {secret.path}, beside the database. That is fine for trying the bot here; "
            "for a real service keep it apart from the data (see docs/privacy.md).",
            file=sys.stderr,
        )
    return keyring, store


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


def cmd_check(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    directory = args.dir or config.flows_dir(env)
    report = flowspec.check(directory, today=date.today())
    misnamed = misnamed_problems(directory)
    for problem in (*misnamed, *report.problems):
        out.write(f"{problem}\n")
    if report.flowset is None:
        out.write(
            f"{len(report.errors) + len(misnamed)} error(s), {len(report.warnings)} warning(s): the flows "
            "were NOT loaded.\n"
        )
        return EXIT_PROBLEMS
    flowset = report.flowset
    linted = lint(flowset, directory)
    for problem in linted:
        out.write(f"{problem}\n")
    locales = args.locales or config.locales_dir(env)
    rule = translations(flowset, directory, locales, strict=args.strict)
    discreet = preview_problems(flowset.with_texts(rule.texts), directory, locales)
    for problem in discreet:
        out.write(f"{problem}\n")
    coverage = measure(flowset, directory, locales)
    for problem in (*coverage.problems, *rule.problems):
        out.write(f"{problem}\n")
    warnings = len(report.warnings) + len(linted) + len(discreet) + len(coverage.warnings) + len(rule.warnings)
    languages = "".join(f"{language.summary()}\n" for language in coverage.languages)
    errors = len(coverage.errors) + len(rule.errors) + len(misnamed)
    if errors:
        out.write(languages)
        out.write(f"{errors} error(s), {warnings} warning(s): the flows or their translations are not ready.\n")
    else:
        out.write(
            f"OK: {len(flowset.flows)} flows, {len(flowset.nodes)} nodes, {len(flowset.triggers)} triggers, "
            f"{len(flowset.services)} services; {warnings} warning(s).\n"
        )
        out.write(languages)
        out.write("".join(f"{line}\n" for line in review_status(flowset)))
    # Scripts replay whatever the coverage: an untranslated text is shown in English, as to users.
    replayed = (
        EXIT_OK
        if args.conversations is None
        else check_conversations(args.conversations, flowset.with_texts(rule.texts), out)
    )
    return EXIT_PROBLEMS if errors else replayed


def check_conversations(directory: Path, flowset: FlowSet, out: TextIO) -> int:
    """Replay staff's conversation scripts; each failure names its file, line and what the bot said."""
    scripts = load_scripts(directory)
    failures = asyncio.run(run_scripts(scripts, flowset))
    for failure in failures:
        out.write(f"{failure}\n")
    failed = len({failure.path for failure in failures})
    if failed:
        out.write(f"{failed} of {len(scripts)} conversation script(s) failed.\n")
        return EXIT_PROBLEMS
    out.write(f"conversations: {len(scripts)} script(s) passed.\n")
    return EXIT_OK


def cmd_i18n(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    flows_dir = args.flows or config.flows_dir(env)
    locales = args.locales or config.locales_dir(env)
    # Only a valid flow set is extracted, so the catalogs hold exactly the texts the bot looks up.
    flowset = flowspec.load(flows_dir, date.today())
    settings = flowset.settings
    if args.locale:
        codes: tuple[str, ...] = (catalogs.language_code(args.locale, settings),)
    elif args.action == "compile":
        codes = catalogs.present_catalogs(locales)
    else:
        codes = catalogs.languages_to_update(settings, locales)
    if args.action == "compile":
        return _i18n_compile(locales, codes, out)
    if args.action == "update" and not codes:
        raise I18nError(
            f"settings.yaml offers only `{settings.default_language}`: add codes to its `languages`, "
            "or prepare one first with --locale CODE"
        )
    template = catalogs.write_template(flows_dir, locales)
    state = "updated" if template.changed else "unchanged"
    out.write(f"{shown_path(template.path)}: {template.strings} texts from {shown_path(flows_dir)} ({state})\n")
    if args.action == "update":
        return _i18n_update(flowset, flows_dir, locales, codes, out)
    return EXIT_OK


def _i18n_update(flowset: FlowSet, flows_dir: Path, locales: Path, codes: tuple[str, ...], out: TextIO) -> int:
    written_by_code = {code: catalogs.update_catalog(locales, code) for code in codes}
    coverage = {language.code: language for language in measure(flowset, flows_dir, locales).languages}
    done = True
    for code, written in written_by_code.items():
        state = "new" if written.created else "updated" if written.changed else "unchanged"
        language = coverage[code]
        done = done and not (language.missing or language.fuzzy or language.triggers_without_keywords)
        out.write(f"{shown_path(written.path)} ({state}) {language.summary()}\n")
    if done:
        out.write("Every catalog is complete; `python -m bot check` confirms it.\n")
    else:
        out.write("Next: translate the empty and fuzzy entries in those files, then run `python -m bot check`.\n")
    return EXIT_OK


def _i18n_compile(locales: Path, codes: tuple[str, ...], out: TextIO) -> int:
    if not codes:
        raise I18nError(f"no catalogs in {shown_path(locales)}: run `python -m bot i18n update` first")
    for code in codes:
        written = catalogs.compile_catalog(locales, code)
        out.write(f"{code}: wrote {shown_path(written.path)}\n")
    return EXIT_OK


async def _chat(args: argparse.Namespace, env: Mapping[str, str]) -> int:
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


async def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
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
        return asyncio.run(_run(args, env))
    return asyncio.run(_chat(args, env))


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
