"""One configuration (bot, mode, stored sessions) in a fresh process, so its peak RSS is its own.

Run by `python -m bench`; prints `RESULT {json}` as its last line. In HTTP mode it prints `READY`
once polling, then waits for `STOP` on stdin while the parent drives users through the fake server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bench.bots import BotName, BotUnderTest, start_bot
from bench.localapi import LocalBotAPI
from bench.population import walkers
from bench.updates import StepError, UpdateMaker
from bench.walk import Step
from bot.transports.telegram.app import serve

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Measured:
    """What one configuration reports; times in milliseconds."""

    bot: str
    mode: str
    sessions: int
    updates_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    peak_rss_mb: float
    start_ms: float
    persist_ms: float | None  # one write of the baseline's pickle
    writes_per_update: float  # the baseline's pickle writes per update handled (0 for ours: it commits in-line)
    errors: int
    detail: dict[str, Any] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident set size in MB; this process's by default.

    Linux keeps ru_maxrss across exec, so a worker would report its parent's peak (the parent seeds
    a million rows); the kernel's high-water mark for the process's own memory is read instead.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid != "self":
        return 0.0  # another process, and no /proc to read it from
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux, bytes on macOS


@dataclass
class Stopwatch:
    """Bot-side time per update in HTTP mode: a handler before every other and one after them all."""

    skip: int = 0
    durations: list[float] = field(default_factory=list)
    handled: int = 0
    _started: dict[int, float] = field(default_factory=dict)

    def attach(self, bot: BotUnderTest) -> None:
        bot.application.add_handler(TypeHandler(Update, self.stamp), group=-1_000)
        bot.application.add_handler(TypeHandler(Update, self.record), group=1_000)

    async def stamp(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self._started[update.update_id] = time.perf_counter()

    async def record(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        started = self._started.pop(update.update_id, None)
        if started is None:
            return
        self.handled += 1
        if self.handled > self.skip:
            self.durations.append(time.perf_counter() - started)


@dataclass
class DirectWalker:
    """Walks users through `Application.process_update`, timing each update."""

    bot: BotUnderTest
    api: LocalBotAPI
    steps: list[Step]
    maker: UpdateMaker = field(default_factory=UpdateMaker)
    errors: int = 0
    handled: int = 0

    async def walk(self, chat_id: int, durations: list[float] | None) -> None:
        keyboards = self.api.keyboards
        for step in self.steps:
            before = keyboards.counts.get(chat_id, 0)
            try:
                raw = self.maker.step(chat_id, step, keyboards.latest.get(chat_id))
            except StepError:
                self.errors += 1
                break
            update = Update.de_json(raw, self.bot.application.bot)
            began = time.perf_counter()
            await self.bot.application.process_update(update)
            took = time.perf_counter() - began
            self.handled += 1
            if keyboards.counts.get(chat_id, 0) == before:
                self.errors += 1  # every step of the walk must be answered with a menu
            if durations is not None:
                durations.append(took)
        keyboards.forget(chat_id)


async def run_direct(
    bot_name: BotName,
    state: Path,
    content: tuple[Path, Path],
    sessions: int,
    users: int,
    warmup: int,
    inflight: int,
    steps: list[Step],
) -> Measured:
    """Answered in process: `users` walk one at a time (time per update), then `users` more with
    `inflight` walking at once (updates per second)."""
    api = LocalBotAPI()
    started = time.perf_counter()
    bot = await start_bot(bot_name, state, *content, request=api)
    start_ms = (time.perf_counter() - started) * 1000
    walker = DirectWalker(bot, api, steps)
    ids = walkers(sessions, warmup + 2 * users)
    for chat_id in ids[:warmup]:
        await walker.walk(chat_id, None)
    solo: list[float] = []
    for chat_id in ids[warmup : warmup + users]:
        await walker.walk(chat_id, solo)
    crowd: list[float] = []
    queue = iter(ids[warmup + users :])

    async def lane() -> None:
        for chat_id in queue:  # one iterator shared by every lane: each user walks once
            await walker.walk(chat_id, crowd)

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(inflight)))
    wall = time.perf_counter() - began
    cost = await bot.close()
    solo_total = sum(solo)
    return Measured(
        bot_name,
        "direct",
        sessions,
        len(crowd) / wall if wall else 0.0,
        percentile(solo, 50) * 1000,
        percentile(solo, 99) * 1000,
        statistics.fmean(solo) * 1000 if solo else 0.0,
        peak_rss_mb(),
        start_ms,
        cost.write_ms if cost else None,
        cost.writes / walker.handled if cost and walker.handled else 0.0,
        walker.errors,
        {
            "solo_updates": len(solo),
            "solo_updates_per_s": len(solo) / solo_total if solo_total else 0.0,
            "crowd_updates": len(crowd),
            "inflight": inflight,
            "crowd_p50_ms": percentile(crowd, 50) * 1000,
            "crowd_p99_ms": percentile(crowd, 99) * 1000,
        },
    )


async def run_http(
    bot_name: BotName,
    state: Path,
    content: tuple[Path, Path],
    sessions: int,
    api_url: str,
    skip: int,
    persist_interval: float = 60,
) -> Measured:
    """Poll the fake Bot API server on loopback until the parent says STOP; it measures throughput."""
    started = time.perf_counter()
    bot = await start_bot(bot_name, state, *content, api_url=api_url, persist_interval=persist_interval)
    start_ms = (time.perf_counter() - started) * 1000
    stopwatch = Stopwatch(skip=skip)
    stopwatch.attach(bot)
    stop = asyncio.Event()
    application = bot.application
    if bot.transport is not None:
        serving = asyncio.create_task(serve(application, bot.transport, stop, poll_timeout=1))
    else:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1, allowed_updates=Update.ALL_TYPES)
        serving = None
    while application.updater is None or not application.updater.running:
        await asyncio.sleep(0.01)
    print("READY", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip() != "STOP":
        print(f"error: expected STOP from the parent, got {line.strip()!r}", file=sys.stderr)
    if serving is not None:
        stop.set()
        await asyncio.wait_for(serving, 30)
    else:
        await application.updater.stop()  # type: ignore[union-attr]
    cost = await bot.close()
    durations = stopwatch.durations
    handled = stopwatch.handled
    return Measured(
        bot_name,
        "http",
        sessions,
        0.0,
        percentile(durations, 50) * 1000,
        percentile(durations, 99) * 1000,
        statistics.fmean(durations) * 1000 if durations else 0.0,
        peak_rss_mb(),
        start_ms,
        cost.write_ms if cost else None,
        cost.writes / handled if cost and handled else 0.0,
        0,
        {"updates": len(durations)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bot", choices=("ours", "baseline"), required=True)
    parser.add_argument("--mode", choices=("direct", "http"), required=True)
    parser.add_argument(
        "--state",
        type=lambda text: text if text.startswith("postgresql://") else Path(text),
        required=True,
        help="the SQLite file or pickle to start from, or a postgresql:// database",
    )
    parser.add_argument("--flows", type=Path, default=REPO / "flows")
    parser.add_argument("--locales", type=Path, default=REPO / "locales")
    parser.add_argument("--sessions", type=int, required=True)
    parser.add_argument("--users", type=int, default=0, help="direct mode: measured users")
    parser.add_argument("--warmup", type=int, default=0, help="users (direct) or updates (http) not measured")
    parser.add_argument("--inflight", type=int, default=16, help="direct mode: users walking at once for updates/s")
    parser.add_argument("--steps", default="[]", help="the walk, as JSON")
    parser.add_argument("--api-url", default="", help="http mode: the fake server's base URL")
    parser.add_argument(
        "--persist-interval",
        type=float,
        default=60,
        help="http mode: seconds between the baseline's persistence runs (PTB's default: 60)",
    )
    args = parser.parse_args()
    # The baseline's ConversationHandler warns about per_message, exactly as PTB's examples do.
    warnings.filterwarnings("ignore", message="If 'per_message=False'")
    content = (args.flows, args.locales)
    if args.mode == "direct":
        steps = [Step(**raw) for raw in json.loads(args.steps)]
        result = asyncio.run(
            run_direct(args.bot, args.state, content, args.sessions, args.users, args.warmup, args.inflight, steps)
        )
    else:
        result = asyncio.run(
            run_http(args.bot, args.state, content, args.sessions, args.api_url, args.warmup, args.persist_interval)
        )
    print("RESULT " + json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main()
