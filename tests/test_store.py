"""The store: round trips, forgetting, counters, purge, migrations, file modes, clear errors."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.engine import State
from bot.privacy.keys import Keyring
from bot.store import sqlite as store_module
from bot.store.sqlite import MIGRATIONS, Store, StoreError

KEY = bytes(range(32))
OTHER = bytes(32)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_state_round_trips_with_its_back_stack(store: Store) -> None:
    state = State(node="testing.pep", locale="pt_BR", back=("main.welcome", "testing.menu", "@language"), day=739580)
    await store.record(KEY, state, [], state.day)
    assert await store.load(KEY) == state


async def test_a_state_not_yet_started_round_trips(store: Store) -> None:
    state = State(node=None, locale=None, back=(), day=5)
    await store.record(KEY, state, [], 5)
    assert await store.load(KEY) == state


async def test_saving_again_replaces_the_state(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", back=("a.a",), day=1), [], 1)
    await store.record(KEY, State(node="c.d", locale="ro", day=2), [], 2)
    assert await store.load(KEY) == State(node="c.d", locale="ro", day=2)
    assert await store.session_count() == 1


async def test_unknown_key_has_no_state(store: Store) -> None:
    assert await store.load(OTHER) is None


async def test_forgotten_session_is_gone_after_record_with_no_state(store: Store) -> None:
    await store.record(KEY, State(node="main.menu", locale="en", day=1), [], 1)
    await store.record(OTHER, State(node="main.menu", locale="en", day=1), [], 1)
    await store.record(KEY, None, [("forget", "done")], 1)
    assert await store.load(KEY) is None and await store.session_count() == 1
    assert await store.counters(1, 1) == [(1, "forget", "done", 1)]


async def test_deleted_session_is_gone(store: Store) -> None:
    await store.record(KEY, State(node="main.menu", locale="en", day=1), [], 1)
    await store.delete(KEY)
    await store.delete(KEY)  # deleting twice is fine
    assert await store.load(KEY) is None


async def test_counters_add_up_per_day_kind_and_name(store: Store) -> None:
    state = State(node="main.menu", locale="en", day=10)
    await store.record(KEY, state, [("node", "main.menu"), ("trigger", "crisis"), ("node", "main.menu")], 10)
    await store.record(OTHER, state, iter([("node", "main.menu")]), 10)
    await store.record(KEY, state, [("node", "main.menu")], 11)
    await store.record(KEY, state, [("language", "en")], 12)
    assert await store.counters(10, 11) == [
        (10, "node", "main.menu", 3),
        (10, "trigger", "crisis", 1),
        (11, "node", "main.menu", 1),
    ]
    assert await store.counters(11, 11) == [(11, "node", "main.menu", 1)]
    assert await store.counters(13, 20) == []


async def test_a_failed_record_changes_nothing(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    with pytest.raises(sqlite3.IntegrityError):
        await store.record(KEY, State(node="c.d", locale="en", day=2), [("node", "c.d"), ("node", None)], 2)  # type: ignore[list-item]
    assert await store.load(KEY) == State(node="a.b", locale="en", day=1)
    assert await store.counters(0, 10) == [(1, "node", "a.b", 1)]
    await store.record(KEY, State(node="e.f", locale="en", day=3), [], 3)  # still usable
    assert (await store.load(KEY)) == State(node="e.f", locale="en", day=3)


async def test_purge_removes_only_sessions_idle_past_retention(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=100), [], 100)
    await store.record(OTHER, State(node="a.b", locale="en", day=69), [], 69)
    edge = bytes([7]) * 32
    await store.record(edge, State(node="a.b", locale="en", day=70), [], 70)  # exactly 30 days idle: kept
    assert await store.purge(today=100, retention_days=30) == 1
    assert await store.load(KEY) is not None and await store.load(edge) is not None
    assert await store.load(OTHER) is None
    assert await store.purge(today=100, retention_days=30) == 0
    assert await store.session_count() == 2


async def test_a_large_purge_goes_in_batches_and_lets_other_users_write_meanwhile(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PURGE_BATCH", 3)
    for i in range(10):
        await store.record(bytes([i + 1]) * 32, State(node="a.b", locale="en", day=1), [], 1)
    purging = asyncio.ensure_future(store.purge(today=100, retention_days=30))
    await asyncio.sleep(0)  # the first batch is gone and the purge has stepped aside
    await store.record(KEY, State(node="c.d", locale="en", day=100), [], 100)
    assert not purging.done()
    assert await purging == 10
    assert await store.session_count() == 1 and await store.load(KEY) is not None


async def test_purge_keeps_the_counters(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    assert await store.purge(today=60, retention_days=30) == 1
    assert await store.counters(1, 1) == [(1, "node", "a.b", 1)]


async def test_concurrent_records_for_many_users_all_land(store: Store) -> None:
    keys = [i.to_bytes(32, "big") for i in range(50)]
    await asyncio.gather(*(store.record(k, State(node="n.n", locale="en", day=5), [("node", "n.n")], 5) for k in keys))
    assert await store.session_count() == 50
    assert await store.counters(5, 5) == [(5, "node", "n.n", 50)]


async def test_an_in_memory_store_works() -> None:
    store = await Store.open(":memory:")
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    assert await store.load(KEY) == State(node="a.b", locale="en", day=1)
    await store.close()


async def test_migrations_run_once_and_reopening_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await Store.open(path)
    await first.record(KEY, State(node="x.y", locale="en", day=3), [("node", "x.y")], 3)
    await first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = await Store.open(path)
    assert await second.load(KEY) == State(node="x.y", locale="en", day=3)
    assert await second.counters(3, 3) == [(3, "node", "x.y", 1)]
    await second.close()


async def test_a_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match=f"{path}.*newer"):
        await Store.open(path)


async def test_database_holds_only_the_listed_columns(store: Store, tmp_path: Path) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"sessions", "counters", "cases", "monthly_counters", "secret_check", "relays", "closed_topics"}
        columns = {t: [row[1] for row in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    assert columns == {
        "sessions": ["key", "node", "locale", "back", "day", "nation", "misses"],
        "counters": ["day", "kind", "name", "count"],
        "monthly_counters": ["month", "kind", "name", "count"],
        "secret_check": ["id", "value"],  # an HMAC of a fixed label: tells a wrong secret, never reveals one
        # A case holds the chat id only sealed, and minutes only while it is open.
        "cases": ["alias", "user_key", "sealed_chat", "locale", "path", "opened", "active", "thread_id",
                  "claimed", "staff_alias", "nudged"],
        # A relay waiting to be sent is sealed too; a closed topic is kept with its day and the session's key.
        "relays": ["id", "alias", "body"],
        "closed_topics": ["thread_id", "day", "user_key"],
    }


async def test_the_file_holds_nothing_identifying_after_close(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    ring = Keyring(b"s" * 32)
    chat_id, name, phone = 987654321, "Alice Planted", "07700900123"
    forgotten = ring.user_key("telegram", 123456789)
    store = await Store.open(path)
    await store.record(forgotten, State(node="exit.start", locale="ro", day=9), [], 9)
    await store.record(ring.user_key("telegram", chat_id), State(node="main.menu", locale="en", day=9), [], 9)
    await store.record(forgotten, None, [("forget", "done")], 9)
    await store.close()
    assert not path.with_name(path.name + "-wal").exists() or path.with_name(path.name + "-wal").stat().st_size == 0
    data = path.read_bytes()
    for planted in (str(chat_id), name, phone):
        assert planted.encode() not in data
    assert ring.user_key("telegram", chat_id) in data  # the search itself works
    assert forgotten not in data and b"exit.start" not in data  # a forgotten session leaves no trace


async def test_database_and_wal_are_private_to_the_owner_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "deeper" / "bot.sqlite3"
        store = await Store.open(path)
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
    store = await Store.open(path)
    assert _mode(path) == 0o600 and _mode(wal) == 0o600
    await store.close()


async def test_a_path_under_a_file_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=f"{blocker / 'bot.sqlite3'}.*{blocker} is not a directory"):
        await Store.open(blocker / "bot.sqlite3")
    with pytest.raises(StoreError, match=str(blocker / "a" / "b")):
        await Store.open(blocker / "a" / "b")


async def test_a_directory_path_raises_a_store_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=f"{tmp_path}: it is a directory"):
        await Store.open(tmp_path)


async def test_a_file_that_is_not_a_database_is_refused_and_no_thread_is_left(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids " * 200)
    threads = threading.active_count()
    with pytest.raises(StoreError, match=f"{path}: file is not a database"):
        await Store.open(path)
    for _ in range(100):  # the worker thread stops just after close() returns
        if threading.active_count() == threads:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() == threads


async def test_a_case_round_trips_and_is_found_by_user_thread_and_alias(store: Store) -> None:
    from bot.handoff.cases import Case

    case = Case("K7Q2", KEY, b"sealed", "ro", ("testing.menu", "testing.pep"), opened=100, active=101, thread_id=55)
    await store.insert_case(case)
    assert await store.case_for_user(KEY) == case
    assert await store.case_for_thread(55) == case
    assert await store.case_by_alias("K7Q2") == case
    from dataclasses import replace

    claimed = replace(case, claimed=103, staff_alias="Sam", active=103)
    assert await store.claim_case("K7Q2", 103, "Sam")
    assert not await store.claim_case("K7Q2", 104, "Alex")  # claimed once only
    assert await store.open_cases() == [claimed]
    assert await store.remove_case("K7Q2")
    assert not await store.touch_case("K7Q2", 105)  # a closed case is never written back
    assert await store.case_for_user(KEY) is None and await store.open_cases() == []


# -- nothing left after a deletion: the raw files, not just the tables --------------------------

CASE_KEY = bytes(range(100, 132))
SEALED = bytes(range(200, 240))
ALIAS = "ZQ7X"


def raw_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*")}


def traces(path: Path, *values: bytes) -> list[str]:
    """Which files still hold any of `values`, in any byte position."""
    return [f"{value!r} in {name}" for name, content in raw_files(path).items() for value in values if value in content]


async def open_case_among_others(store: Store) -> None:
    from bot.handoff.cases import Case

    for i in range(50):  # other users, so the pages hold more than the one case
        await store.record(bytes([i + 1]) * 32, State(node="main.menu", locale="en", day=9), [("node", "main.menu")], 9)
    await store.record(CASE_KEY, State(node="exit.start", locale="hu", day=9), [], 9)
    await store.insert_case(Case(ALIAS, CASE_KEY, SEALED, "hu", ("exit.start",), opened=1, active=1, thread_id=77))


async def test_a_closed_case_and_forgotten_session_leave_no_trace_in_the_database_wal_or_shm(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path, scrub_delay=0.01)
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
    store = await Store.open(tmp_path / "bot.sqlite3", scrub_delay=0.05)
    try:
        for i in range(20):
            await store.record(bytes([i + 1]) * 32, State(node="a.b", locale="en", day=9), [], 9)
        for i in range(20):
            await store.delete(bytes([i + 1]) * 32)
        await store.scrubbed()
        assert store.scrubs == 1
    finally:
        await store.close()


async def test_the_bot_keeps_writing_while_the_wal_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path, scrub_delay=0)
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
    import shutil

    path = tmp_path / "bot.sqlite3"
    store = await Store.open(path, scrub_delay=3600)  # the checkpoint never gets to run: a crash
    await open_case_among_others(store)
    await store.remove_case(ALIAS)
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for name, content in raw_files(path).items():  # the files as a SIGKILL would leave them
        (crashed / name).write_bytes(content)
    await store.close()
    copy = crashed / "bot.sqlite3"
    assert traces(copy, SEALED)  # the deleted row was still in the WAL at the moment of the crash
    reopened = await Store.open(copy)
    try:
        assert traces(copy, SEALED, ALIAS.encode()) == []
        assert await reopened.open_cases() == []
    finally:
        await reopened.close()
    shutil.rmtree(crashed)


async def test_old_daily_counters_are_rolled_up_into_months_by_the_purge(store: Store) -> None:
    from datetime import date

    from bot.store.sqlite import month_of

    today = date(2026, 12, 3).toordinal()
    old_day, other_old_day = date(2026, 8, 14).toordinal(), date(2026, 8, 20).toordinal()
    recent = today - 10
    for day, events in ((old_day, [("language", "hu")]), (other_old_day, [("language", "hu"), ("node", "a.b")]),
                        (recent, [("language", "hu")])):
        await store.count(day, events)
    await store.purge(today, retention_days=30)
    assert await store.counters(0, today) == [(recent, "language", "hu", 1)]
    august = month_of(old_day)
    assert await store.monthly_counters(august, august) == [(august, "language", "hu", 2), (august, "node", "a.b", 1)]
    await store.count(date(2026, 8, 30).toordinal(), [("language", "hu")])
    await store.purge(today, retention_days=30)  # a second roll-up adds to the month
    assert await store.monthly_counters(august, august) == [(august, "language", "hu", 3), (august, "node", "a.b", 1)]


async def test_the_secret_check_value_is_kept_and_replaced_in_place(store: Store) -> None:
    assert await store.secret_check() is None and not await store.holds_people()
    await store.set_secret_check(b"1" * 32)
    await store.set_secret_check(b"2" * 32)
    assert await store.secret_check() == b"2" * 32
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    assert await store.holds_people()
    await store.start_over(b"3" * 32)
    assert not await store.holds_people() and await store.secret_check() == b"3" * 32
    assert await store.counters(1, 1) == [(1, "node", "a.b", 1)]  # the anonymous counters stay
