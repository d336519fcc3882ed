"""The store: round trips, forgetting, counters, purge, migrations, file modes, clear errors."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.engine import State
from bot.store import MIGRATIONS, Store, StoreError

KEY = bytes(range(32))
OTHER = bytes(32)


@pytest.fixture
async def store(tmp_path: Path):
    opened = await Store.open(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


async def test_state_round_trips_with_its_back_stack(store: Store) -> None:
    state = State(node="testing.pep", locale="pt_BR", back=("main.welcome", "testing.menu"), day=739580)
    await store.record(KEY, state, [], state.day)
    assert await store.load(KEY) == state


async def test_unknown_key_has_no_state(store: Store) -> None:
    assert await store.load(OTHER) is None


async def test_recording_no_state_deletes_the_session(store: Store) -> None:
    await store.record(KEY, State(node="main.menu", locale="en", day=1), [], 1)
    await store.record(KEY, None, [("forget", "done")], 1)
    assert await store.load(KEY) is None and await store.session_count() == 0


async def test_counters_add_up_per_day_kind_and_name(store: Store) -> None:
    state = State(node="main.menu", locale="en", day=10)
    await store.record(KEY, state, [("node", "main.menu"), ("trigger", "crisis")], 10)
    await store.record(OTHER, state, [("node", "main.menu")], 10)
    await store.record(KEY, state, [("node", "main.menu")], 11)
    assert await store.counters(10, 11) == [
        (10, "node", "main.menu", 2),
        (10, "trigger", "crisis", 1),
        (11, "node", "main.menu", 1),
    ]
    assert await store.counters(11, 11) == [(11, "node", "main.menu", 1)]


async def test_purge_removes_only_sessions_idle_past_retention(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=100), [], 100)
    await store.record(OTHER, State(node="a.b", locale="en", day=69), [], 69)
    assert await store.purge(today=100, retention_days=30) == 1
    assert await store.load(KEY) is not None and await store.load(OTHER) is None


async def test_concurrent_records_for_many_users_all_land(store: Store) -> None:
    keys = [i.to_bytes(32, "big") for i in range(50)]
    await asyncio.gather(*(store.record(k, State(node="n.n", locale="en", day=5), [("node", "n.n")], 5) for k in keys))
    assert await store.session_count() == 50
    assert await store.counters(5, 5) == [(5, "node", "n.n", 50)]


async def test_migrations_run_once_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await Store.open(path)
    await first.record(KEY, State(node="x.y", locale="en", day=3), [], 3)
    await first.close()
    second = await Store.open(path)
    assert (await second.load(KEY)).node == "x.y"  # type: ignore[union-attr]
    await second.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_database_holds_only_the_listed_columns(store: Store, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "bot.sqlite3")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"sessions", "counters"}
    columns = {t: [row[1] for row in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    assert columns == {"sessions": ["key", "node", "locale", "back", "day"], "counters": ["day", "kind", "name", "count"]}


async def test_database_and_wal_are_private_to_the_owner_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "bot.sqlite3"
        store = await Store.open(path)
        await store.record(KEY, State(node="a.b", locale="en", day=1), [], 1)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        await store.close()
    finally:
        os.umask(old)


async def test_loose_mode_on_an_existing_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    store = await Store.open(path)
    await store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_unusable_path_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=str(blocker)):
        await Store.open(blocker / "bot.sqlite3")
    with pytest.raises(StoreError, match="is a directory"):
        await Store.open(tmp_path)
