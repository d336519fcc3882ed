"""What only the SQLite backend has to prove: its files, WAL and modes, its thread, its group commit."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine import State
from bot.handoff.cases import Case
from bot.privacy.keys import Keyring
from bot.store import StoreError, TurnWrite, open_store
from bot.store.groupcommit import GroupCommit
from bot.store.sqlite import SQLiteStore
from bot.store.sqlite import counters as sqlite_counters
from bot.store.sqlite.connection import BUSY_TIMEOUT_MS, JOURNAL_SIZE_LIMIT, on_thread
from bot.store.sqlite.schema import MIGRATIONS
from tests.store.turns import many_users_take_turns

KEY = bytes(range(32))
OTHER = bytes(32)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pragma(connection: Any, name: str) -> object:
    async def read() -> object:
        return await on_thread(connection, lambda db: db.execute(f"PRAGMA {name}").fetchone()[0])

    return read()


# -- the bot's connection ---------------------------------------------------------------------


async def test_the_bots_connection_never_checkpoints_by_itself_and_bounds_the_wal(store: SQLiteStore) -> None:
    writer = store._writer
    assert await pragma(writer, "journal_mode") == "wal"
    assert await pragma(writer, "wal_autocheckpoint") == 0
    assert await pragma(writer, "journal_size_limit") == JOURNAL_SIZE_LIMIT
    assert await pragma(writer, "busy_timeout") == BUSY_TIMEOUT_MS
    assert await pragma(writer, "secure_delete") == 1
    assert await pragma(store._reader, "query_only") == 1  # every write goes through the one writer


async def test_no_statement_runs_on_the_event_loops_thread(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    threads: set[int] = set()
    store = await SQLiteStore.open(tmp_path / "bot.sqlite3", scrub_delay=0)
    for connection in (store._writer, store._reader):
        await connection.set_trace_callback(lambda _sql: threads.add(threading.get_ident()))
    await store.insert_case(Case("K7Q2", KEY, b"s", "en", (), 1, 1, thread_id=5))
    await many_users_take_turns(store, users=10, turns=3)
    await store.load_turn(KEY)
    await store.remove_case("K7Q2")
    await store.purge(today=739_700, retention_days=30)
    await store.scrubbed()
    await store.close()
    assert threads and loop_thread not in threads


async def test_concurrent_turns_share_transactions(store: SQLiteStore) -> None:
    await many_users_take_turns(store, users=40, turns=5)
    assert store.commits.largest > 1
    assert store.commits.batches < 40 * 5


# Another process takes the write lock, says so, and keeps it until told to let go.
HOLD_THE_LOCK = (
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "db.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.readline(); db.execute('COMMIT')"
)


async def test_the_loop_keeps_running_while_another_process_holds_the_write_lock(
    store: SQLiteStore, tmp_path: Path
) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=1), [], 1)
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_THE_LOCK,
        str(tmp_path / "bot.sqlite3"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert await holder.stdout.readline() == b"held\n"
        writing = asyncio.ensure_future(store.record(OTHER, State(node="c.d", locale="en", day=2), [], 2))
        ticks = 0
        for _ in range(20):  # the loop turns while the write waits for the lock on aiosqlite's thread
            await asyncio.sleep(0.001)
            ticks += 1
        assert not writing.done() and ticks == 20
        assert (await store.load_turn(KEY)).state is not None  # reads go on meanwhile
        holder.stdin.write(b"\n")
        await holder.stdin.drain()
        await writing
        assert await store.load(OTHER) == State(node="c.d", locale="en", day=2)
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()


async def test_a_large_purge_goes_in_batches_and_other_turns_land_between_them(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_counters, "PURGE_BATCH", 3)
    for i in range(10):
        await store.record(bytes([i + 1]) * 32, State(node="a.b", locale="en", day=1), [], 1)
    purging = asyncio.ensure_future(store.purge(today=100, retention_days=30))
    await asyncio.sleep(0)  # the first batch is queued
    await store.record(KEY, State(node="c.d", locale="en", day=100), [], 100)
    assert not purging.done()
    assert await purging == 10
    assert await store.session_count() == 1 and await store.load(KEY) is not None


# -- a test of the test: the many-users check catches lost and reordered writes -------------------


class LosingCommit(GroupCommit):
    """Says every seventh write is stored without storing it."""

    seen: int = 0

    async def submit(self, write: Any) -> Any:
        self.seen += 1
        if self.seen % 7 == 0:
            return None
        return await super().submit(write)


class EarlyAckCommit(GroupCommit):
    """Wakes each caller before its write is committed, and commits what is queued newest first."""

    async def submit(self, write: Any) -> Any:
        pending = asyncio.ensure_future(self._later(write))
        self.later = [*getattr(self, "later", []), pending]
        return None

    async def _later(self, write: Any) -> None:
        await asyncio.sleep(0.01 * (1 + len(getattr(self, "later", [])) % 3))
        await GroupCommit.submit(self, write)


@pytest.mark.parametrize("broken", [LosingCommit, EarlyAckCommit])
async def test_the_many_users_check_fails_on_a_store_that_loses_or_reorders_writes(
    tmp_path: Path, broken: type
) -> None:
    store = await SQLiteStore.open(tmp_path / "bot.sqlite3")
    store.commits = broken(store.commits.on_thread)
    try:
        with pytest.raises(AssertionError):
            await many_users_take_turns(store, users=20, turns=5)
    finally:
        for pending in getattr(store.commits, "later", []):
            await pending
        await store.close()


# -- opening: files, modes, errors, schema -------------------------------------------------------


async def test_an_in_memory_store_works() -> None:
    store = await open_store(":memory:")
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    assert await store.load(KEY) == State(node="a.b", locale="en", day=1)
    await store.close()


async def test_migrations_run_once_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await open_store(path)
    await first.record(KEY, State(node="x.y", locale="en", day=3), [("node", "x.y")], 3)
    await first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = await open_store(path)
    assert await second.load(KEY) == State(node="x.y", locale="en", day=3)
    await second.close()


async def test_a_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match=f"{path}.*newer"):
        await open_store(path)


async def test_database_holds_only_the_listed_columns(store: SQLiteStore, tmp_path: Path) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {
            "sessions",
            "counters",
            "cases",
            "monthly_counters",
            "secret_check",
            "relays",
            "closed_topics",
            "blocks",
        }
        columns = {t: [row[1] for row in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    assert columns == {
        "sessions": ["key", "node", "locale", "back", "day", "nation", "misses"],
        "counters": ["day", "kind", "name", "count"],
        "monthly_counters": ["month", "kind", "name", "count"],
        "secret_check": ["id", "value"],  # an HMAC of a fixed label: tells a wrong secret, never reveals one
        # A case holds the chat id only sealed, and minutes only while it is open.
        "cases": [
            "alias",
            "user_key",
            "sealed_chat",
            "locale",
            "path",
            "opened",
            "active",
            "thread_id",
            "claimed",
            "staff_alias",
            "nudged",
        ],
        # A relay waiting to be sent is sealed too; a closed topic is kept with its day and the session's key.
        "relays": ["id", "alias", "body"],
        "closed_topics": ["thread_id", "day", "user_key"],
        # A block: the session's key, its last day, and the random alias of the case it came from.
        "blocks": ["user_key", "alias", "until_day"],
    }


async def test_database_and_wal_are_private_to_the_owner_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "deeper" / "bot.sqlite3"
        store = await open_store(path)
        assert _mode(path) == 0o600
        await store.record(KEY, State(node="a.b", locale="en", day=1), [], 1)
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and _mode(wal) == 0o600
        assert _mode(path.with_name(path.name + "-shm")) == 0o600
        assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
        await store.close()
    finally:
        os.umask(old)


async def test_loose_modes_on_an_existing_file_and_wal_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    wal = tmp_path / "bot.sqlite3-wal"
    for each in (path, wal):
        each.touch()
        each.chmod(0o644)
    store = await open_store(path)
    assert _mode(path) == 0o600 and _mode(wal) == 0o600
    await store.close()


async def test_a_path_under_a_file_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=f"{blocker / 'bot.sqlite3'}.*{blocker} is not a directory"):
        await open_store(blocker / "bot.sqlite3")
    with pytest.raises(StoreError, match=str(blocker / "a" / "b")):
        await open_store(blocker / "a" / "b")


async def test_a_directory_path_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path}: it is a directory"):
        await open_store(tmp_path)


async def test_a_file_that_is_not_a_database_is_refused_and_no_thread_is_left(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids " * 200)
    before = set(threading.enumerate())
    with pytest.raises(StoreError, match=f"{path}: file is not a database"):
        await open_store(path)
    started = [thread for thread in threading.enumerate() if thread not in before]
    for thread in started:  # a worker thread may end just after open() raised: wait for its end, not a while
        thread.join(timeout=5)
    assert [thread.name for thread in started if thread.is_alive()] == []


# -- read-only opening: stats of a live database -------------------------------------------------


async def test_a_read_only_store_reads_a_live_database_and_never_writes_or_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    live = await open_store(path)
    try:
        await live.record(KEY, State(node="a.b", locale="en", day=7), [("node", "a.b")], 7)
        wal = path.with_name(path.name + "-wal")
        frames = wal.stat().st_size
        assert frames > 0
        before = {p.name: p.read_bytes() for p in (path, wal)}
        looking = await open_store(path, read_only=True)
        assert await looking.counters(7, 7) == [(7, "node", "a.b", 1)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await looking.record(OTHER, State(node="c.d", locale="en", day=7), [], 7)
        await looking.close()
        # Nothing was folded in, truncated or written: the live bot's files are as they were.
        assert {p.name: p.read_bytes() for p in (path, wal)} == before
    finally:
        await live.close()


async def test_a_read_only_store_of_a_missing_or_older_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such file"):
        await open_store(tmp_path / "none.sqlite3", read_only=True)
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as db:
        db.executescript(MIGRATIONS[0] + ";PRAGMA user_version = 1;")
    with pytest.raises(StoreError, match=r"older.*start the bot once"):
        await open_store(old, read_only=True)


# -- nothing left after a deletion: the raw files, not just the tables ---------------------------

CASE_KEY = bytes(range(100, 132))
SEALED = bytes(range(200, 240))
ALIAS = "ZQ7X"


def raw_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


def traces(path: Path, *values: bytes) -> list[str]:
    """Which files still hold any of `values`, in any byte position."""
    return [f"{value!r} in {name}" for name, content in raw_files(path).items() for value in values if value in content]


async def open_case_among_others(store: SQLiteStore) -> None:
    for i in range(50):  # other users, so the pages hold more than the one case
        await store.record(bytes([i + 1]) * 32, State(node="main.menu", locale="en", day=9), [("node", "main.menu")], 9)
    await store.record(CASE_KEY, State(node="exit.start", locale="hu", day=9), [], 9)
    await store.insert_case(Case(ALIAS, CASE_KEY, SEALED, "hu", ("exit.start",), opened=1, active=1, thread_id=77))


async def test_the_file_holds_nothing_identifying_after_close(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    ring = Keyring(b"s" * 32)
    chat_id, name, phone = 987654321, "Alice Planted", "07700900123"
    forgotten = ring.user_key("telegram", 123456789)
    store = await open_store(path)
    await store.record(forgotten, State(node="exit.start", locale="ro", day=9), [], 9)
    await store.record(ring.user_key("telegram", chat_id), State(node="main.menu", locale="en", day=9), [], 9)
    await store.write_turn(TurnWrite(forgotten, None, (("forget", "done"),), 9))
    await store.close()
    assert not path.with_name(path.name + "-wal").exists() or path.with_name(path.name + "-wal").stat().st_size == 0
    data = path.read_bytes()
    for planted in (str(chat_id), name, phone):
        assert planted.encode() not in data
    assert ring.user_key("telegram", chat_id) in data  # the search itself works
    assert forgotten not in data and b"exit.start" not in data  # a forgotten session leaves no trace


async def test_a_closed_case_and_forgotten_session_leave_no_trace_in_the_database_wal_or_shm(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SQLiteStore.open(path, scrub_delay=0.01)
    try:
        await open_case_among_others(store)
        assert traces(path, CASE_KEY, SEALED, ALIAS.encode())  # the search finds them while they exist
        await store.remove_case(ALIAS)
        await store.record(CASE_KEY, None, [("forget", "done")], 9)
        await store.scrubbed()
        assert store.scrubs >= 1
        assert traces(path, CASE_KEY, SEALED, ALIAS.encode(), b"exit.start") == []
        assert path.with_name("bot.sqlite3-wal").stat().st_size == 0
        assert await store.session_count() == 50  # the others are untouched
    finally:
        await store.close()


async def test_many_deletions_close_together_share_one_checkpoint(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "bot.sqlite3", scrub_delay=0.05)
    try:
        for i in range(20):
            await store.record(bytes([i + 1]) * 32, State(node="a.b", locale="en", day=9), [], 9)
        await asyncio.gather(*(store.delete(bytes([i + 1]) * 32) for i in range(20)))
        await store.scrubbed()
        assert store.scrubs == 1
    finally:
        await store.close()


async def test_the_bot_keeps_writing_while_the_wal_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SQLiteStore.open(path, scrub_delay=0)
    try:
        await open_case_among_others(store)
        await store.remove_case(ALIAS)
        await store.delete(CASE_KEY)
        for i in range(200):  # other users carry on; the checkpoint runs on its own thread meanwhile
            await store.record(bytes([i % 50 + 1]) * 32, State(node="main.menu", locale="en", day=10), [], 10)
        await store.scrubbed()
        assert traces(path, CASE_KEY, SEALED, ALIAS.encode()) == []
        assert await store.session_count() == 50
    finally:
        await store.close()


async def test_a_copy_taken_after_a_crash_is_scrubbed_when_the_bot_opens_it_again(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SQLiteStore.open(path, scrub_delay=3600)  # the checkpoint never gets to run: a crash
    await open_case_among_others(store)
    await store.remove_case(ALIAS)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name, content in raw_files(path).items():  # the files as a SIGKILL would leave them
        (crashed / name).write_bytes(content)
    await store.close()
    copy = crashed / "bot.sqlite3"
    assert traces(copy, SEALED)  # the deleted row was still in the WAL at the moment of the crash
    reopened = await open_store(copy)
    try:
        assert traces(copy, SEALED, ALIAS.encode()) == []
        assert await reopened.open_cases() == []
    finally:
        await reopened.close()
    shutil.rmtree(crashed)
