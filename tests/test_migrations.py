"""Upgrades: a database left at any schema version opens with the current code, its rows intact.

Each earlier version is built by applying a prefix of MIGRATIONS exactly as the store does, so a
migration appended later is covered without touching this file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.engine import State
from bot.handoff.cases import Case
from bot.privacy.keys import Keyring
from bot.store import StoreError, open_store
from bot.store.sqlite.schema import MIGRATIONS

KEYRING = Keyring(b"m" * 32)
DAY = 739_000
# Every schema version from the first; the last is the code's own (opened with nothing to do).
VERSIONS = range(1, len(MIGRATIONS) + 1)


def build_at(path: Path, version: int) -> sqlite3.Connection:
    """A database file at schema `version`, made by the first `version` migrations."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        db.executescript(f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;")
    return db


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def plain_row(db: sqlite3.Connection, table: str) -> dict[str, object]:
    """One made-up row for a table this test knows nothing about, from its declared column types."""
    row: dict[str, object] = {}
    for _, name, declared, _, _, _ in db.execute(f"PRAGMA table_info({table})"):
        kind = declared.upper()
        # A single-row table keys its row as id 1 (CHECK (id = 1)); 1 suits any other id column too.
        row[name] = (
            (1 if name == "id" else 7) if "INT" in kind else b"\x01\x02" if "BLOB" in kind else f"{table}-{name}"
        )
    return row


def insert(db: sqlite3.Connection, table: str, row: dict[str, object]) -> None:
    columns = ", ".join(row)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_database_at_any_schema_version_opens_with_every_row_intact(tmp_path: Path, version: int) -> None:
    path = tmp_path / "bot.sqlite3"
    db = build_at(path, version)
    present = tables(db)
    key = KEYRING.user_key("telegram", 111)
    insert(db, "sessions", {"key": key, "node": "testing.menu", "locale": "ro", "back": "main.menu", "day": DAY})
    insert(db, "counters", {"day": DAY, "kind": "visit", "name": "testing.menu", "count": 3})
    case = Case(
        alias="Case Heron",
        user_key=KEYRING.user_key("telegram", 222),
        sealed_chat=KEYRING.seal_chat_id(222, b"Case Heron"),
        locale="pl",
        path=("main.menu",),
        opened=1_700_000_000,
        active=1_700_000_100,
        thread_id=55,
        claimed=None,
        staff_alias=None,
    )
    if "cases" in present:
        insert(
            db,
            "cases",
            {
                "alias": case.alias,
                "user_key": case.user_key,
                "sealed_chat": case.sealed_chat,
                "locale": case.locale,
                "path": "main.menu",
                "opened": case.opened,
                "active": case.active,
                "thread_id": case.thread_id,
            },
        )
    others = {table: plain_row(db, table) for table in sorted(present - {"sessions", "counters", "cases"})}
    for table, row in others.items():
        insert(db, table, row)
    db.close()

    store = await open_store(path)
    try:
        assert await store.load(key) == State(node="testing.menu", locale="ro", back=("main.menu",), day=DAY)
        assert await store.counters(DAY, DAY) == [(DAY, "visit", "testing.menu", 3)]
        if "cases" in present:
            (found,) = await store.open_cases()
            assert (found.alias, found.user_key, found.locale, found.thread_id) == (
                case.alias,
                case.user_key,
                case.locale,
                case.thread_id,
            )
            assert KEYRING.unseal_chat_id(found.sealed_chat, found.alias.encode()) == 222
    finally:
        await store.close()

    after = sqlite3.connect(path)
    try:
        assert after.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert after.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table, row in others.items():
            kept = {name for (_, name, *_) in after.execute(f"PRAGMA table_info({table})")}
            still = {name: value for name, value in row.items() if name in kept}
            where = " AND ".join(f"{name} = ?" for name in still)
            assert (
                after.execute(f"SELECT count(*) FROM {table} WHERE {where}", tuple(still.values())).fetchone()[0] == 1
            )
    finally:
        after.close()


async def test_a_database_from_newer_code_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = build_at(path, len(MIGRATIONS))
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this code"):
        await open_store(path)
    with sqlite3.connect(path) as look:
        assert look.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
