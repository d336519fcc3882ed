"""Staff tools on the command line: `python -m bot graph` and `python -m bot stats`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot import config
from bot.errors import BotError
from bot.flows import FlowSet, suggest
from bot.flows.content import load_content
from bot.flows.graph import for_file, mermaid
from bot.stats.command import load_stats
from bot.stats.render import render_csv, render_text
from bot.stats.tally import MAX_DAYS
from bot.store import open_store
from bot.wording import staff_text


class ToolError(BotError):
    """A problem the operator can fix; printed as one line."""


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add the `graph` and `stats` subcommands."""
    graph = commands.add_parser("graph", help="write the flows as a Mermaid diagram")
    graph.add_argument("--flow", metavar="NAME", help="only this flow, e.g. main (default: all flows)")
    graph.add_argument(
        "--lang", metavar="CODE", help="label the diagram in this language (default: the default language)"
    )
    graph.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="write to this file instead of the terminal (FILE.md: a Mermaid block GitHub draws)",
    )
    graph.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")
    stats = commands.add_parser(
        "stats", help="anonymous daily counts: conversations, handoffs, waits, triggers, languages"
    )
    stats.add_argument(
        "--days", type=int, default=7, help=f"the last N days, today included (1 to {MAX_DAYS}; default 7)"
    )
    stats.add_argument("--csv", action="store_true", help="one row per day as CSV, for a spreadsheet")
    stats.add_argument("--db", type=Path, help="SQLite file (default ./data/bot.sqlite3 or $BOT_DB)")
    stats.add_argument("--flows", type=Path, help="flows folder (default ./flows or $BOT_FLOWS)")


def _content(args: argparse.Namespace, env: Mapping[str, str]) -> FlowSet:
    return load_content(args.flows or config.flows_dir(env), config.locales_dir(env), date.today())


def cmd_graph(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    flows = _content(args, env)
    if args.flow and args.flow not in flows.flows:
        raise ToolError(f"no flow `{args.flow}`: {suggest(args.flow, flows.flows)}")
    known = dict.fromkeys((*flows.settings.languages, *flows.texts.locales()))
    if args.lang and args.lang not in known:
        raise ToolError(f"language `{args.lang}` has no translations (available: {', '.join(known)})")
    text = mermaid(flows, args.flow, args.lang)
    if args.out is None:
        out.write(text)
        return 0
    try:
        args.out.write_text(for_file(text, args.out), encoding="utf-8")
    except OSError as exc:
        raise ToolError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    return 0


def cmd_stats(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        raise ToolError(f"--days must be between 1 and {MAX_DAYS}, not {args.days}")
    flows = _content(args, env)
    db = args.db or config.store_location(env)
    if isinstance(db, Path) and not db.is_file():
        raise ToolError(f"no database at {db}: pass --db, or set BOT_DB to the bot's database")
    today = datetime.now(ZoneInfo(flows.settings.time_zone)).date()
    out.write(asyncio.run(_stats(flows, db, today, args.days, args.csv)))
    return 0


async def _stats(flows: FlowSet, db: Path | str, today: date, days: int, as_csv: bool) -> str:
    store = await open_store(db, read_only=True)  # may be the live bot's: never written, never checkpointed
    try:
        stats = await load_stats(store, today, days)
    finally:
        await store.close()
    if as_csv:
        return render_csv(stats)

    def say(key: str, **values: object) -> str:
        return staff_text(flows, key, **values)

    return render_text(stats, say, flows.settings.default_language) + "\n"
