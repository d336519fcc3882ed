"""`python -m bench.postgres`: our bot in direct mode on PostgreSQL next to the same run on SQLite.

The same walk, the same worker (bench/worker.py) and the same stored sessions as `python -m bench`'s
direct rows; only the store differs. PostgreSQL is reached at `--database-url` (an empty database the
bench may fill: its sessions are replaced before each run), or, with `--local`, in a throwaway
cluster of the machine's own PostgreSQL server started for the run (as the tests start one).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from bench.__main__ import FULL, QUICK, REPO, BenchError, Plan, _run_direct
from bench.population import BENCH_SECRET, seed_store
from bench.walk import plan
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.transports.telegram.app import TRANSPORT


async def seed_postgres(url: str, sessions: int, node: str, locale: str, day: int) -> None:
    """Replace the database's sessions with `sessions` users at `node` (COPY, in key order), as seed_store does."""
    await (await open_store(url)).close()  # the real schema and migrations
    keyring = Keyring(BENCH_SECRET)
    keys = sorted(keyring.user_key(TRANSPORT, chat_id) for chat_id in range(1, sessions + 1))
    async with await psycopg.AsyncConnection.connect(url, prepare_threshold=None) as connection:
        await connection.execute("TRUNCATE sessions, counters")
        async with (
            connection.cursor() as cursor,
            cursor.copy("COPY sessions (key, node, locale, back, day) FROM STDIN") as copy,
        ):
            for key in keys:
                await copy.write_row((key, node, locale, "", day))
        await connection.commit()
        await connection.set_autocommit(True)
        await connection.execute("VACUUM ANALYZE sessions")


@contextmanager
def local_cluster() -> Iterator[str]:
    """A throwaway cluster of the installed server (tests/pg.py), and an empty database in it."""
    sys.path.insert(0, str(REPO))
    from tests.pg import Cluster, _private_root, server_bin

    found = server_bin()
    if found is None:
        raise BenchError("no PostgreSQL server is installed: apt-get install postgresql, or pass --database-url")
    cluster = Cluster(found, _private_root())
    cluster.start(durable=True)  # every commit flushed, as a production server does
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


async def run(plan_: Plan, url: str, work: Path, log: Any) -> list[dict[str, Any]]:
    content = (REPO / "flows", REPO / "locales")
    flows = load_content(*content)
    walk = plan(flows)
    node, locale = flows.settings.menu, flows.settings.default_language
    day = datetime.now(ZoneInfo(flows.settings.time_zone)).date().toordinal()
    rows = []
    for sessions in sorted({*plan_.sizes, *plan_.ours_only}):
        for backend in ("sqlite", "postgres"):
            if backend == "sqlite":
                state: Path | str = work / f"ours-{sessions}.sqlite3"
                await seed_store(Path(state), sessions, node, locale, day)
            else:
                state = url
                await seed_postgres(url, sessions, node, locale, day)
            row = await _run_direct("ours", state, sessions, walk, plan_, content)  # type: ignore[arg-type]
            if row["errors"]:
                raise BenchError(f"{backend} direct at {sessions:,}: {row['errors']} step(s) got no menu back")
            row["backend"] = backend
            rows.append(row)
            log(
                f"{backend:8} direct {sessions:>9,}: {row['updates_per_s']:,.0f} updates/s, "
                f"p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms"
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| store | mode | sessions | updates/s | p50 ms | p99 ms | peak RSS MB | start ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['backend']} | direct | {r['sessions']:,} | {r['updates_per_s']:,.0f} | {r['p50_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['peak_rss_mb']:.0f} | {r['start_ms']:,.0f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.postgres", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database-url", help="an empty PostgreSQL database the bench may fill")
    where.add_argument("--local", action="store_true", help="start a throwaway cluster of the installed server")
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument(
        "--sizes", default=None, help="stored sessions to run at, comma-separated (default 1000,10000,100000)"
    )
    args = parser.parse_args(argv)
    plan_ = QUICK if args.quick else replace(FULL, ours_only=())
    if args.sizes:
        plan_ = replace(plan_, sizes=tuple(int(n.replace("_", "")) for n in args.sizes.split(",")), ours_only=())

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
            if args.local:
                with local_cluster() as url:
                    rows = asyncio.run(run(plan_, url, Path(tmp), log))
            else:
                rows = asyncio.run(run(plan_, args.database_url, Path(tmp), log))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
