"""Throughput, latency, memory and start-up of the bot against a plain PTB bot, by stored sessions.

Run from the repository root: python -m bench [--quick] [--out DIR]
Each configuration (bot × mode × stored sessions) runs in a fresh worker process; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench import report
from bench.population import seed_pickle, seed_store, walkers
from bench.walk import Walk, WalkError, plan
from bench.worker import peak_rss_mb, percentile
from bot.flows import FlowError
from bot.flows.content import load_content
from bot.i18n.catalog import CatalogError

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 120.0
RESULT_TIMEOUT = 300.0


MODES = ("direct", "http", "sustained")


@dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and how many users walk at each; `ours_only` sizes are too big for the baseline."""

    sizes: tuple[int, ...]
    ours_only: tuple[int, ...]
    users: int  # direct mode: users one at a time, then as many again `inflight` at a time
    http_users: int
    warmup: int  # users walked first and not measured
    inflight: int
    http_inflight: int
    latency_ms: float = 0.0  # HTTP mode: added by the fake server to each send and callback answer
    sustain_s: float = 120.0  # sustained mode: the window, long enough to include the baseline's persistence runs
    persist_interval_s: float = 60.0  # sustained mode: the baseline's update_interval (PTB's default)
    modes: tuple[str, ...] = MODES
    with_baseline: bool = True


FULL = Plan(
    sizes=(1_000, 10_000, 100_000),
    ours_only=(1_000_000,),
    users=1_500,
    http_users=600,
    warmup=100,
    inflight=16,
    http_inflight=32,
)
# The smoke run shortens the baseline's interval so its persistence runs inside a window of seconds.
QUICK = Plan(
    sizes=(200,),
    ours_only=(1_000,),
    users=30,
    http_users=30,
    warmup=5,
    inflight=4,
    http_inflight=4,
    sustain_s=4.0,
    persist_interval_s=1.0,
)
TIMELINE_BUCKET_S = 5.0  # sustained mode: answers are counted per this many seconds for the timeline


class BenchError(Exception):
    """The benchmark cannot run or a worker failed; the message says what to do."""


def _worker_env() -> dict[str, str]:
    # Loopback only: no proxy may see or divert the traffic to the fake server.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))
    return env


def _worker_args(bot: str, mode: str, state: Path, sessions: int, flows: Path, locales: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.worker",
        "--bot",
        bot,
        "--mode",
        mode,
        "--state",
        str(state),
        "--sessions",
        str(sessions),
        "--flows",
        str(flows),
        "--locales",
        str(locales),
    ]


def _parse_result(output: str, what: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise BenchError(f"{what}: the worker printed no result")


async def _run_direct(
    bot: str, state: Path, sessions: int, walk: Walk, plan_: Plan, content: tuple[Path, Path]
) -> dict[str, Any]:
    steps = json.dumps([asdict(step) for step in walk.steps])
    args = [
        *_worker_args(bot, "direct", state, sessions, *content),
        "--users",
        str(plan_.users),
        "--warmup",
        str(plan_.warmup),
        "--inflight",
        str(plan_.inflight),
        "--steps",
        steps,
    ]
    process = await asyncio.create_subprocess_exec(
        *args, env=_worker_env(), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), RESULT_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BenchError(f"{bot} direct at {sessions:,}: no result within {RESULT_TIMEOUT:.0f} s") from None
    if process.returncode != 0:
        raise BenchError(f"{bot} direct at {sessions:,}: the worker failed: {_last_line(err)}")
    return _parse_result(out.decode(), f"{bot} direct at {sessions:,}")


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


async def _start_http_worker(
    api: Any,
    bot: str,
    state: Path,
    sessions: int,
    plan_: Plan,
    content: tuple[Path, Path],
    extra: list[str],
    stderr: Any,
) -> asyncio.subprocess.Process:
    """Give the fake server the plan's latency, then start a worker polling it (it prints READY when polling)."""
    for method in ("sendMessage", "answerCallbackQuery"):
        api.delay(method, plan_.latency_ms / 1000)
    args = [*_worker_args(bot, "http", state, sessions, *content), "--api-url", api.base_url, *extra]
    return await asyncio.create_subprocess_exec(
        *args, env=_worker_env(), cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=stderr
    )


async def _run_http(
    bot: str, state: Path, sessions: int, walk: Walk, plan_: Plan, content: tuple[Path, Path]
) -> dict[str, Any]:
    from bench.httpdriver import BenchBotAPI, drive

    steps = list(walk.steps)
    ids = walkers(sessions, plan_.warmup + plan_.http_users, seed=9)
    async with BenchBotAPI() as api:
        process = await _start_http_worker(
            api,
            bot,
            state,
            sessions,
            plan_,
            content,
            ["--warmup", str(plan_.warmup * len(steps))],
            asyncio.subprocess.PIPE,
        )
        assert process.stdin is not None and process.stdout is not None
        what = f"{bot} http at {sessions:,}"
        try:
            line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT)
            if line.strip() != b"READY":
                raise BenchError(f"{what}: the worker did not start polling")
            warm = await drive(api, steps, ids[: plan_.warmup], plan_.http_inflight)
            measured = await drive(api, steps, ids[plan_.warmup :], plan_.http_inflight)
            process.stdin.write(b"STOP\n")
            await process.stdin.drain()
            out, err = await asyncio.wait_for(process.communicate(), RESULT_TIMEOUT)
        except (TimeoutError, BenchError) as exc:
            process.kill()
            await process.wait()
            raise BenchError(f"{what}: {exc or 'timed out'}") from None
        if process.returncode != 0:
            raise BenchError(f"{what}: the worker failed: {_last_line(err)}")
    result = _parse_result(out.decode(), what)
    trips = measured.round_trips
    # Over HTTP the comparable latency is the user's: from the update queued to the menu received.
    # Bot-side time is kept in detail; with many updates in flight it includes waiting on the others.
    result["detail"].update(
        {
            "bot_p50_ms": result["p50_ms"],
            "bot_p99_ms": result["p99_ms"],
            "bot_mean_ms": result["mean_ms"],
            "measured_updates": measured.updates,
            "inflight": plan_.http_inflight,
            "latency_ms": plan_.latency_ms,
        }
    )
    result.update(
        {
            "updates_per_s": measured.updates / measured.seconds if measured.seconds else 0.0,
            "errors": warm.errors + measured.errors,
            "p50_ms": percentile(trips, 50) * 1000,
            "p99_ms": percentile(trips, 99) * 1000,
            "mean_ms": sum(trips) / len(trips) * 1000 if trips else 0.0,
        }
    )
    return result


async def _run_sustained(
    bot: str, state: Path, sessions: int, walk: Walk, plan_: Plan, content: tuple[Path, Path]
) -> dict[str, Any]:
    """Users walk without pause for `plan_.sustain_s` seconds over HTTP, past the baseline's persistence interval.

    What the users got in the window is the measurement, taken here in the parent. The worker is then
    killed: the baseline may be minutes into its pickle writes, and ours has committed every step already.
    """
    from bench.httpdriver import BenchBotAPI, drive_for, timeline

    steps = list(walk.steps)
    # More users than the window can take, so no lane runs out; half come back, half are new.
    ids = walkers(sessions, max(1_000, int(plan_.sustain_s * 500)), seed=10)
    bucket = min(TIMELINE_BUCKET_S, plan_.sustain_s / 4)
    server_log = logging.getLogger("aiohttp.server")
    level = server_log.level
    with tempfile.TemporaryFile() as stderr:  # not a pipe: one nobody reads during the window could fill and stall it
        async with BenchBotAPI() as api:
            process = await _start_http_worker(
                api, bot, state, sessions, plan_, content, ["--persist-interval", str(plan_.persist_interval_s)], stderr
            )
            assert process.stdout is not None
            what = f"{bot} sustained at {sessions:,}"
            try:
                line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT)
                if line.strip() != b"READY":
                    await process.wait()
                    stderr.seek(0)
                    raise BenchError(f"{what}: the worker did not start polling: {_last_line(stderr.read())}")
                measured = await drive_for(api, steps, ids, plan_.http_inflight, plan_.sustain_s)
                if process.returncode is not None:  # a worker that died mid-window is a failure, not a slow bot
                    stderr.seek(0)
                    raise BenchError(f"{what}: the worker stopped during the window: {_last_line(stderr.read())}")
                peak = peak_rss_mb(process.pid)
            except TimeoutError:
                raise BenchError(f"{what}: the worker did not start within {READY_TIMEOUT:.0f} s") from None
            finally:
                if process.returncode is None:
                    # Requests in flight die with the worker; aiohttp would print each one as an error.
                    server_log.setLevel(logging.CRITICAL)
                    process.kill()
                await process.wait()
        server_log.setLevel(level)
    trips = measured.round_trips
    per_s = measured.updates / measured.seconds if measured.seconds else 0.0
    return {
        "bot": bot,
        "mode": "sustained",
        "sessions": sessions,
        "updates_per_s": per_s,
        "p50_ms": percentile(trips, 50) * 1000,
        "p99_ms": percentile(trips, 99) * 1000,
        "mean_ms": sum(trips) / len(trips) * 1000 if trips else 0.0,
        "peak_rss_mb": peak,
        "start_ms": None,
        "persist_ms": None,
        "writes_per_update": 0.0,
        "errors": measured.errors,
        "detail": {
            "window_s": round(measured.seconds, 1),
            "persist_interval_s": plan_.persist_interval_s,
            "inflight": plan_.http_inflight,
            "answered": measured.updates,
            "bucket_s": bucket,
            "answered_per_bucket": timeline(measured, bucket),
            "latency_ms": plan_.latency_ms,
        },
    }


def _with_writes(row: dict[str, Any]) -> float:
    """Updates/s once the baseline's deferred pickle writes are paid for; ours writes in-line already."""
    if row["mode"] == "sustained":
        return float(row["updates_per_s"])  # measured with the writes in the window
    ups, per_update, write_ms = row["updates_per_s"], row["writes_per_update"], row["persist_ms"] or 0.0
    if not ups:
        return 0.0
    return 1 / (1 / ups + per_update * write_ms / 1000)


async def run(plan_: Plan, content: tuple[Path, Path], work: Path, log: Any) -> list[dict[str, Any]]:
    flows = load_content(*content)
    walk = plan(flows)
    node, locale = flows.settings.menu, flows.settings.default_language
    day = datetime.now(ZoneInfo(flows.settings.time_zone)).date().toordinal()
    rows: list[dict[str, Any]] = []
    for sessions in sorted({*plan_.sizes, *plan_.ours_only}):
        bots = ["ours"] + (["baseline"] if sessions in plan_.sizes and plan_.with_baseline else [])
        began = time.perf_counter()
        templates = {"ours": work / f"ours-{sessions}.sqlite3", "baseline": work / f"baseline-{sessions}.pickle"}
        await seed_store(templates["ours"], sessions, node, locale, day)
        if "baseline" in bots:
            seed_pickle(templates["baseline"], sessions, node)
        log(f"seeded {sessions:,} sessions in {time.perf_counter() - began:.1f} s")
        for bot in bots:
            for mode, runner in (("direct", _run_direct), ("http", _run_http), ("sustained", _run_sustained)):
                if mode not in plan_.modes:
                    continue
                state = work / f"run-{templates[bot].name}"
                shutil.copyfile(templates[bot], state)
                row = await runner(bot, state, sessions, walk, plan_, content)
                row["with_writes_per_s"] = _with_writes(row)
                if row["errors"]:
                    raise BenchError(
                        f"{bot} {mode} at {sessions:,}: {row['errors']} step(s) got no menu back; "
                        "run `python -m bot check` and see bench/README.md"
                    )
                rows.append(row)
                log(
                    f"{bot:8} {mode:6} {sessions:>9,}: {row['updates_per_s']:,.0f} updates/s, p99 "
                    f"{row['p99_ms']:.2f} ms"
                )
                for leftover in work.glob("run-*"):
                    leftover.unlink()
        for template in templates.values():
            template.unlink(missing_ok=True)
    return rows


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds at small sizes (the CI smoke run)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results", help="where latest.json and latest.png go"
    )
    parser.add_argument(
        "--window-s",
        type=float,
        default=None,
        help="sustained mode: seconds users keep arriving (default 120; --quick: 4)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="HTTP mode: delay the fake server adds to each send and callback answer, like Telegram's",
    )
    parser.add_argument(
        "--sizes",
        type=_counts,
        default=None,
        help="stored sessions to run at, comma-separated (default 1000,10000,100000 and 1000000 for ours only)",
    )
    parser.add_argument(
        "--modes",
        type=lambda text: tuple(text.split(",")),
        default=MODES,
        help=f"which of {','.join(MODES)} to run, comma-separated (default all)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="ours only (the baseline's rows are not run)")
    parser.add_argument("--flows", type=Path, default=REPO / "flows")
    parser.add_argument("--locales", type=Path, default=REPO / "locales")
    args = parser.parse_args(argv)
    plan_ = replace(QUICK if args.quick else FULL, latency_ms=args.latency_ms, with_baseline=not args.no_baseline)
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}: choose from {', '.join(MODES)}")
    plan_ = replace(plan_, modes=args.modes)
    if args.sizes is not None:
        # The baseline runs at the sizes it runs at by default; above them ours runs alone.
        plan_ = replace(
            plan_,
            sizes=tuple(n for n in args.sizes if n <= max(plan_.sizes)),
            ours_only=tuple(n for n in args.sizes if n > max(plan_.sizes)),
        )
    if args.window_s is not None:
        if args.window_s <= plan_.persist_interval_s:
            parser.error(
                f"--window-s must be longer than the baseline's persistence interval ({plan_.persist_interval_s:g} s), "
                "or the window never sees a persistence run"
            )
        plan_ = replace(plan_, sustain_s=args.window_s)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            rows = asyncio.run(run(plan_, (args.flows, args.locales), Path(tmp), log))
    except (FlowError, CatalogError):
        print("error: the flows or translations have errors; run `python -m bot check` for details", file=sys.stderr)
        return 1
    except (BenchError, WalkError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        print(f"error: {exc.name} is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no results written", file=sys.stderr)
        return 130
    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --window-s {args.window_s:g}" if args.window_s else "")
        + (f" --latency-ms {args.latency_ms:g}" if args.latency_ms else "")
    )
    result = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "quick": args.quick,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": report.machine(),
        "plan": asdict(plan_),
        "walk": [asdict(step) for step in plan(load_content(args.flows, args.locales)).steps],
        "results": rows,
        "ratios": report.ratios(rows),
        "targets": [asdict(target) for target in report.targets(rows)],
    }
    report.write_json(args.out / "latest.json", result)
    plotted = report.plot(args.out / "latest.png", rows)
    print(report.table(rows))
    print()
    for target in result["targets"]:
        print(f"{'met    ' if target['met'] else 'NOT MET'}  {target['name']}: {target['detail']}")
    print(
        f"\nwrote {args.out / 'latest.json'}"
        + (
            f" and {args.out / 'latest.png'}"
            if plotted
            else " (no plot: matplotlib is not installed; pip install -e '.[bench]')"
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
