"""`python -m bench.replicas`: 1, 2 and 3 replicas of `python -m bot run --webhook` on PostgreSQL, next to one
process on SQLite.

Real processes: each replica serves its webhook endpoint on 127.0.0.1; the bench posts updates to them in
turn, as a load balancer would, and answers the bot's calls with the tests' fake Bot API. Each simulated
user sends a step, waits for the menu it brings back, then sends the next; `--users` of them at once.
PostgreSQL is a throwaway cluster of the machine's own server with its defaults for durability (as
`python -m bench.postgres --local`), or `--database-url`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bench.__main__ import REPO, BenchError
from bench.httpdriver import BenchBotAPI
from bench.population import BENCH_SECRET
from bench.postgres import local_cluster
from bot.privacy.keys import Keyring

STAFF = -1001234567890
PUBLIC = "https://bot.example.org/telegram"
STEPS = ("/menu", "1")  # each answered with a menu: the main one, then the testing one
STEP_TIMEOUT = 30.0


@dataclass
class Result:
    store: str
    replicas: int
    users: int
    updates: int
    seconds: float
    latencies: list[float]

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def replicas(api: BenchBotAPI, work: Path, where: str, count: int) -> AsyncIterator[list[str]]:
    """`count` processes of `python -m bot run --webhook`; yields the address of each one's endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update(
        BOT_SECRET=BENCH_SECRET.decode(),
        BOT_FLOWS=str(REPO / "flows"),
        BOT_LOCALES=str(REPO / "locales"),
        BOT_HOME=str(work / "home"),
        TELEGRAM_BOT_TOKEN=api.token,
        STAFF_CHAT_ID=str(STAFF),
        TELEGRAM_API_URL=api.api_url,
        PYTHONPATH=str(REPO),
    )
    if where.startswith("postgresql://"):
        env["BOT_DATABASE_URL"] = where
    else:
        env["BOT_DB"] = where
    processes, urls = [], []
    before = len(api.calls_to("setWebhook"))
    try:
        for _ in range(count):
            port = free_port()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--no-watch",
                "--webhook",
                PUBLIC,
                "--port",
                str(port),
                "--health-port",
                str(free_port()),
                cwd=work,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}/telegram")
        await api.wait_for_calls("setWebhook", before + count, timeout=120)
        yield urls
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Poster:
    """Posts updates to the replicas in turn, with the webhook's secret header."""

    session: aiohttp.ClientSession
    urls: list[str]
    secret: str
    next_id: int = 1
    turn: int = 0

    async def post(self, chat_id: int, text: str) -> None:
        update_id, self.next_id = self.next_id, self.next_id + 1
        sender = {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en"}
        message: dict[str, Any] = {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
            "from": sender,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        while True:
            url = self.urls[self.turn % len(self.urls)]
            self.turn += 1
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
            async with self.session.post(url, json={"update_id": update_id, "message": message}, headers=headers) as r:
                if r.status == 200:
                    return
            await asyncio.sleep(0.05)  # a 500: Telegram tries again


async def drive(api: BenchBotAPI, poster: Poster, users: int, rounds: int, first_chat: int) -> tuple[int, list[float]]:
    """Every user takes `rounds` steps, one after another; returns the updates answered and their latencies."""
    latencies: list[float] = []

    async def walk(chat_id: int) -> None:
        for n in range(rounds):
            menu = api.expect_menu(chat_id)
            started = time.perf_counter()
            await poster.post(chat_id, STEPS[n % len(STEPS)])
            await asyncio.wait_for(menu, STEP_TIMEOUT)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(walk(first_chat + n) for n in range(users)))
    return len(latencies), latencies


async def measure(store: str, where: str, count: int, users: int, rounds: int, work: Path) -> Result:
    if where.startswith("postgresql://"):
        async with await psycopg.AsyncConnection.connect(where, autocommit=True) as connection:
            exists = await (await connection.execute("SELECT to_regclass('inbox') IS NOT NULL")).fetchone()
            if exists and exists[0]:
                await connection.execute("TRUNCATE sessions, counters, inbox, leases")
    secret = Keyring(BENCH_SECRET).token("telegram-webhook")
    async with BenchBotAPI() as api, replicas(api, work, where, count) as urls, aiohttp.ClientSession() as session:
        poster = Poster(session, urls, secret)
        await drive(api, poster, min(users, 8), 2, 9_000_000)  # warm-up: imports, pools, first statements
        started = time.perf_counter()
        updates, latencies = await drive(api, poster, users, rounds, 1_000_000)
        seconds = time.perf_counter() - started
    return Result(store, count, users, updates, seconds, latencies)


def table(results: list[Result]) -> str:
    lines = [
        "| store | replicas | users at once | updates | updates/s | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.store} | {r.replicas} | {r.users} | {r.updates:,} | {r.updates_per_s:,.0f} | "
        f"{r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} |"
        for r in results
    ]
    return "\n".join(lines)


async def run(url: str, users: int, rounds: int, most: int, work: Path) -> list[Result]:
    results = [await measure("sqlite", str(work / "bot.sqlite3"), 1, users, rounds, work)]
    print(table(results).splitlines()[-1], file=sys.stderr, flush=True)
    for count in range(1, most + 1):
        results.append(await measure("postgres", url, count, users, rounds, work))
        print(table(results).splitlines()[-1], file=sys.stderr, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replicas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database-url", help="an empty PostgreSQL database the bench may fill")
    where.add_argument("--local", action="store_true", help="start a throwaway cluster of the installed server")
    parser.add_argument("--users", type=int, default=32, help="users stepping at once (default 32)")
    parser.add_argument("--rounds", type=int, default=20, help="steps each user takes (default 20)")
    parser.add_argument("--replicas", type=int, default=3, help="up to this many replicas (default 3)")
    parser.add_argument("--quick", action="store_true", help="8 users, 4 steps each, up to 2 replicas")
    args = parser.parse_args(argv)
    users, rounds, most = (8, 4, 2) if args.quick else (args.users, args.rounds, args.replicas)
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as folder:
        work = Path(folder)
        try:
            if args.local:
                with local_cluster() as url:
                    results = asyncio.run(run(url, users, rounds, most, work))
            else:
                results = asyncio.run(run(args.database_url, users, rounds, most, work))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
