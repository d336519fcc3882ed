"""The longest time the bot's event loop is blocked, with a slow disk and with a foreign write lock.

Run from the repository root: python -m bench.looplag [--seconds S] [--out DIR]

Each scenario runs ours in direct mode (bench/README.md) in a fresh worker process: 16 users walk at
once while every callback the event loop runs is timed. The longest callback is the longest time the
loop was blocked: nothing else could run meanwhile (Telegram's long poll, other users' updates). A
probe task that asks to be woken every millisecond also records how late each wake-up is: that adds
the time the loop spends on many short callbacks in a row when it is saturated, which is not a block.
Python's garbage collector stops every thread while it runs, in any Python bot; its pauses are
reported apart (longest GC pause) and left out of the callbacks' times.

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
import gc
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

# Prints when it took and let go of the lock on the clock the worker uses too (perf_counter is the
# system's monotonic clock on Linux): a worker whose loop is frozen would read both lines late.
HOLD_THE_LOCK = (
    "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "db.execute('BEGIN IMMEDIATE'); print(time.perf_counter(), flush=True); time.sleep(float(sys.argv[2])); "
    "db.execute('COMMIT'); print(time.perf_counter(), flush=True)"
)


@dataclass
class CallbackTimer:
    """Times every callback the loop runs (each step of a task is one): the longest is the longest block.

    A saturated loop runs many short callbacks back to back, which delays a sleeper without any one of
    them blocking; this counts only what one callback held the loop for.
    """

    durations: list[tuple[float, float]] = field(default_factory=list)  # (ended, seconds), garbage collection left out
    collections: list[tuple[float, float]] = field(default_factory=list)  # (ended, seconds) of each GC pause
    _collecting: float = 0.0
    _collected: float = 0.0  # seconds of garbage collection so far

    def install(self) -> None:
        run = asyncio.events.Handle._run
        durations = self.durations

        def timed(handle: asyncio.events.Handle) -> None:
            began, collected = time.perf_counter(), self._collected
            run(handle)
            ended = time.perf_counter()
            durations.append((ended, ended - began - (self._collected - collected)))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        # Python's own collector stops every thread; it would pause any Python bot, store or not, so
        # its pauses are reported on their own rather than counted as blocks.
        now = time.perf_counter()
        if phase == "start":
            self._collecting = now
        else:
            self._collected += now - self._collecting
            self.collections.append((now, now - self._collecting))

    def longest(self, start: float = 0.0, end: float = float("inf")) -> float:
        return max((took for when, took in self.durations if start <= when <= end), default=0.0)

    def over(self, threshold: float, start: float = 0.0, end: float = float("inf")) -> int:
        return sum(1 for when, took in self.durations if took > threshold and start <= when <= end)


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

    def over(self, threshold: float, start: float = 0.0, end: float = float("inf")) -> int:
        return sum(1 for when, lag in self.lags if lag > threshold and start <= when <= end)


async def _worker(scenario: str, state: Path, seconds: float, flows: Path, locales: Path) -> dict[str, Any]:
    from telegram import Update

    from bench.bots import start_bot
    from bench.localapi import LocalBotAPI
    from bench.population import walkers
    from bench.updates import StepError, UpdateMaker
    from bench.walk import plan
    from bot.flows.content import load_content

    api = _timed_api(LocalBotAPI)
    answered = api.answered
    bot = await start_bot("ours", state, flows, locales, request=api)
    steps = list(plan(load_content(flows, locales)).steps)
    maker = UpdateMaker()
    finished: list[float] = []
    failures: list[str] = []
    stop = asyncio.Event()
    ids = iter(walkers(SESSIONS, 50_000, seed=11))  # more than a run walks; a bigger list only slows the GC

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
                # The next update comes off the network: with a store that never suspends, a lane would
                # otherwise run every user to the end without letting anything else run.
                await asyncio.sleep(0)
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
    timer = CallbackTimer()
    timer.install()
    began = time.perf_counter()
    finished.clear()
    window: tuple[float, float] | None = None
    if scenario == "lock":
        window = await _hold_the_lock(state)
    await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - began)))
    stop.set()
    stopped = time.perf_counter()  # what follows (the last presses, shutting down) is not measured
    await asyncio.gather(*lanes, probing)
    await asyncio.gather(*pressed)  # the arrivals stopped: every press they made is in the list now
    wall = time.perf_counter() - began
    await bot.close()
    result: dict[str, Any] = {
        "scenario": scenario,
        "seconds": round(wall, 2),
        "steps": len(finished),
        "steps_per_s": len(finished) / wall,
        "longest_block_ms": timer.longest(began, stopped) * 1000,
        "blocks_over_5ms": timer.over(0.005, began, stopped),
        "blocks_over_50ms": timer.over(0.05, began, stopped),
        "callbacks": sum(1 for when, _ in timer.durations if began <= when <= stopped),
        "longest_gc_pause_ms": max((took for when, took in timer.collections if began <= when <= stopped), default=0.0)
        * 1000,
        "longest_late_wakeup_ms": probe.longest(began, stopped) * 1000,
        "late_wakeups_over_5ms": probe.over(0.005, began, stopped),
        "errors": len(errors) + len(failures),
        "error_kinds": sorted(set(errors)),
    }
    if window is not None:
        result.update(_during_the_lock(window, timer, probe, answered, finished))
    return result


def _timed_api(base: type[Any]) -> Any:
    """The local Bot API, noting when each callback query is answered."""

    class TimedAPI(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.answered: list[float] = []

        def answer(self, name: str, params: dict[str, str]) -> object:
            if name == "answerCallbackQuery":
                self.answered.append(time.perf_counter())
            return super().answer(name, params)

    return TimedAPI()


async def _hold_the_lock(state: Path) -> tuple[float, float]:
    """Another process takes the write lock for LOCK_S seconds; returns when it held it (perf_counter)."""
    await asyncio.sleep(LOCK_AFTER_S)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_THE_LOCK, str(state), str(LOCK_S), stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    held = float(await holder.stdout.readline())
    window = (held, float(await holder.stdout.readline()))
    await holder.wait()
    return window


def _during_the_lock(
    window: tuple[float, float], timer: CallbackTimer, probe: LagProbe, answered: list[float], finished: list[float]
) -> dict[str, Any]:
    """What the bot did while the other process held the lock."""
    start, end = window
    return {
        "lock_held_s": round(end - start, 2),
        "longest_block_during_lock_ms": timer.longest(start, end) * 1000,
        "longest_late_wakeup_during_lock_ms": probe.longest(start, end) * 1000,
        "callback_answers_during_lock": sum(1 for t in answered if start <= t <= end),
        "steps_finished_during_lock": sum(1 for t in finished if start <= t <= end),
    }


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
                f"{scenario:6} longest block {row['longest_block_ms']:7.1f} ms ({row['blocks_over_5ms']} of "
                f"{row['callbacks']:,} callbacks over 5 ms, {row['blocks_over_50ms']} over 50 ms), longest GC pause "
                f"{row['longest_gc_pause_ms']:.1f} ms, longest late wake-up "
                f"{row['longest_late_wakeup_ms']:.1f} ms, {row['steps_per_s']:.0f} steps/s, errors {row['errors']}"
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
