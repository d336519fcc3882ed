"""The longest time the bot's event loop is blocked, with a slow disk and with a foreign write lock.

Run from the repository root: python -m bench.looplag [--seconds S] [--out DIR]

Each scenario runs ours in direct mode (bench/README.md) in a fresh worker process: 16 users walk at
once while a probe task asks the loop to wake it every millisecond and records how late each wake-up
is. A late wake-up is time some callback held the loop; the longest is the figure that counts.

- *fsync 50 ms*: every fsync and fdatasync of the worker sleeps 50 ms first, like a slow or shared
  disk. SQLite cannot be given a slow disk from Python, so a small shared library, compiled here with
  the system C compiler and loaded with LD_PRELOAD, wraps the C library's fsync and fdatasync. With
  WAL and synchronous=NORMAL SQLite syncs only when it checkpoints, so this measures where
  checkpoints run.
- *lock 2 s*: after a second of walking, another process takes SQLite's write lock (BEGIN IMMEDIATE)
  and holds it for 2 s. The worker counts the callback queries it answered and the steps it finished
  while the lock was held, and any step that failed. Besides the 16 walkers, button presses from new
  users arrive at 50 a second throughout, as Telegram would deliver them: the walkers alone would all
  be waiting for their own replies while the lock is held.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
SESSIONS = 10_000
INFLIGHT = 16
SLOW_MS = 50
LOCK_S = 2.0
LOCK_AFTER_S = 1.0
PROBE_S = 0.001
WARMUP_S = 1.0
ARRIVALS_PER_S = 50

SLOW_FSYNC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_down(void) {
    const char *ms = getenv("BENCH_SLOW_FSYNC_MS");
    long wait = ms ? atol(ms) : 50;
    struct timespec pause = {wait / 1000, (wait % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow_down();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow_down();
    return real(fd);
}
"""

HOLD_THE_LOCK = (
    "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "db.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(float(sys.argv[2])); "
    "db.execute('COMMIT'); print('released', flush=True)"
)


@dataclass
class LagProbe:
    """Wakes every PROBE_S seconds and keeps how late each wake-up was (time the loop was held by others)."""

    lags: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds late)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + PROBE_S
            await asyncio.sleep(PROBE_S)
            now = loop.time()
            self.lags.append((time.perf_counter(), max(0.0, now - due)))

    def longest(self, start: float = 0.0, end: float = float("inf")) -> float:
        return max((lag for when, lag in self.lags if start <= when <= end), default=0.0)

    def over(self, threshold: float) -> int:
        return sum(1 for _, lag in self.lags if lag > threshold)


async def _worker(scenario: str, state: Path, seconds: float, flows: Path, locales: Path) -> dict[str, Any]:
    from telegram import Update

    from bench.bots import start_bot
    from bench.localapi import LocalBotAPI
    from bench.population import walkers
    from bench.updates import StepError, UpdateMaker
    from bench.walk import plan
    from bot.flows.content import load_content

    answered: list[float] = []

    class TimedAPI(LocalBotAPI):
        def answer(self, name: str, params: dict[str, str]) -> object:
            if name == "answerCallbackQuery":
                answered.append(time.perf_counter())
            return super().answer(name, params)

    api = TimedAPI()
    bot = await start_bot("ours", state, flows, locales, request=api)
    steps = list(plan(load_content(flows, locales)).steps)
    maker = UpdateMaker()
    finished: list[float] = []
    failures: list[str] = []
    stop = asyncio.Event()
    ids = iter(walkers(SESSIONS, 1_000_000, seed=11))

    async def lane() -> None:
        while not stop.is_set():
            chat_id = next(ids)
            for step in steps:
                try:
                    raw = maker.step(chat_id, step, api.keyboards.latest.get(chat_id))
                    await bot.application.process_update(Update.de_json(raw, bot.application.bot))
                except StepError:
                    failures.append("step")
                    break
                finished.append(time.perf_counter())
            api.keyboards.forget(chat_id)

    errors: list[str] = []

    async def note_error(update: object, context: Any) -> None:
        errors.append(type(context.error).__name__ + f": {context.error}")

    bot.application.add_error_handler(note_error)
    pressed: list[asyncio.Task[None]] = []

    async def press_once(chat_id: int, data: str) -> None:
        await bot.application.process_update(Update.de_json(maker.press(chat_id, data), bot.application.bot))

    async def arrivals() -> None:
        """Button presses from users not yet walking, at a steady rate whatever the bot is doing, as
        Telegram delivers them: the walkers alone would all be waiting on their own replies."""
        fresh = 10_000_000
        while not stop.is_set():
            await asyncio.sleep(1 / ARRIVALS_PER_S)
            keyboard = next(iter(api.keyboards.latest.values()), None)
            if keyboard:
                fresh += 1
                pressed.append(asyncio.create_task(press_once(fresh, keyboard[0])))

    lanes = [asyncio.create_task(lane()) for _ in range(INFLIGHT)] + [asyncio.create_task(arrivals())]
    await asyncio.sleep(WARMUP_S)  # first updates load catalogs and warm caches: not what is measured
    probe = LagProbe()
    probing = asyncio.create_task(probe.run(stop))
    began = time.perf_counter()
    finished.clear()
    window: tuple[float, float] | None = None
    if scenario == "lock":
        await asyncio.sleep(LOCK_AFTER_S)
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD_THE_LOCK, str(state), str(LOCK_S), stdout=asyncio.subprocess.PIPE
        )
        assert holder.stdout is not None
        await holder.stdout.readline()
        held = time.perf_counter()
        await holder.stdout.readline()
        window = (held, time.perf_counter())
        await holder.wait()
    await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - began)))
    stop.set()
    await asyncio.gather(*lanes, probing, *pressed)
    wall = time.perf_counter() - began
    await bot.close()
    result: dict[str, Any] = {
        "scenario": scenario,
        "seconds": round(wall, 2),
        "steps": len(finished),
        "steps_per_s": len(finished) / wall,
        "longest_block_ms": probe.longest() * 1000,
        "blocks_over_5ms": probe.over(0.005),
        "blocks_over_50ms": probe.over(0.05),
        "errors": len(errors) + len(failures),
        "error_kinds": sorted(set(errors)),
    }
    if window is not None:
        start, end = window
        result.update(
            {
                "lock_held_s": round(end - start, 2),
                "longest_block_during_lock_ms": probe.longest(start, end) * 1000,
                "callback_answers_during_lock": sum(1 for t in answered if start <= t <= end),
                "steps_finished_during_lock": sum(1 for t in finished if start <= t <= end),
            }
        )
    return result


def _slow_fsync_library(work: Path) -> Path:
    """Compile the fsync wrapper; raises with a one-line reason when no C compiler is there."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("error: the fsync scenario needs a C compiler (cc or gcc) to build its LD_PRELOAD wrapper")
    source, library = work / "slowfsync.c", work / "slowfsync.so"
    source.write_text(SLOW_FSYNC_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True)
    return library


def _run_worker(
    scenario: str, state: Path, seconds: float, flows: Path, locales: Path, library: Path | None
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    if library is not None:
        env.update(LD_PRELOAD=str(library), BENCH_SLOW_FSYNC_MS=str(SLOW_MS))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.looplag",
            "--worker",
            scenario,
            "--state",
            str(state),
            "--seconds",
            str(seconds),
            "--flows",
            str(flows),
            "--locales",
            str(locales),
        ],
        check=False,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise SystemExit(
        f"error: the {scenario} worker failed: {(done.stderr.strip().splitlines() or ['(no message)'])[-1]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.looplag", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="how long users walk in each scenario")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--flows", type=Path, default=REPO / "flows")
    parser.add_argument("--locales", type=Path, default=REPO / "locales")
    parser.add_argument("--worker", choices=("plain", "fsync", "lock"), help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = asyncio.run(_worker(args.worker, args.state, args.seconds, args.flows, args.locales))
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    from bench.population import seed_store
    from bot.flows.content import load_content

    flows = load_content(args.flows, args.locales)
    day = datetime.now(ZoneInfo(flows.settings.time_zone)).date().toordinal()
    rows = []
    with tempfile.TemporaryDirectory(prefix="looplag-") as tmp:
        work = Path(tmp)
        template = work / "template.sqlite3"
        asyncio.run(seed_store(template, SESSIONS, flows.settings.menu, flows.settings.default_language, day))
        library = _slow_fsync_library(work)
        for scenario in ("plain", "fsync", "lock"):
            state = work / "run.sqlite3"
            for leftover in work.glob("run.sqlite3*"):
                leftover.unlink()
            shutil.copyfile(template, state)
            row = _run_worker(
                scenario, state, args.seconds, args.flows, args.locales, library if scenario == "fsync" else None
            )
            rows.append(row)
            print(
                f"{scenario:6} longest block {row['longest_block_ms']:8.1f} ms, over 5 ms {row['blocks_over_5ms']:5}, "
                f"over 50 ms {row['blocks_over_50ms']:4}, {row['steps_per_s']:7.0f} steps/s, errors {row['errors']}"
                + (
                    f"; lock held {row['lock_held_s']} s: longest block {row['longest_block_during_lock_ms']:.1f} ms, "
                    f"{row['callback_answers_during_lock']} callback answers, {row['steps_finished_during_lock']} steps"
                    if "lock_held_s" in row
                    else ""
                ),
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "looplag.json").write_text(
        json.dumps(
            {
                "generated": datetime.now(UTC).isoformat(timespec="seconds"),
                "slow_fsync_ms": SLOW_MS,
                "lock_s": LOCK_S,
                "inflight": INFLIGHT,
                "sessions": SESSIONS,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out / 'looplag.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
