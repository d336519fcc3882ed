"""The only module that touches SQLite: sessions keyed by pseudonymous keys, and daily counters.

Stored per session: key, node, locale, back-stack, last-seen day. Nothing else, by design.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

import aiosqlite

from bot.engine import State

# Numbered migrations, applied in order and tracked with PRAGMA user_version. Append; never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        key BLOB PRIMARY KEY,
        node TEXT,
        locale TEXT,
        back TEXT NOT NULL DEFAULT '',
        day INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_day ON sessions(day);
    CREATE TABLE counters (
        day INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, kind, name)
    ) WITHOUT ROWID;
    """,
)


class StoreError(Exception):
    """The database cannot be opened or created; the message names the path and the reason."""


def _prepare_file(path: Path) -> None:
    """Create the file 0600 before SQLite does (SQLite gives its -wal and -shm the same mode)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.is_dir():
            raise StoreError(f"cannot open the database {path}: it is a directory")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except StoreError:
        raise
    except OSError as exc:
        raise StoreError(f"cannot open the database {path}: {exc.strerror or exc}") from None


class Store:
    """Sessions and counters on one aiosqlite connection (calls are serialised on its thread)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # One connection is shared by every user, so transactions must not interleave.
        self._write = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> "Store":
        """Open (creating if needed) and migrate; raises StoreError with a one-line reason."""
        if str(path) != ":memory:":
            path = Path(path)
            _prepare_file(path)
        try:
            db = await aiosqlite.connect(str(path), isolation_level=None)
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            store = cls(db)
            await store._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        return store

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = row[0] if row else 0
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")

    async def load(self, key: bytes) -> State | None:
        """The saved state for a user key, or None."""
        async with self._db.execute("SELECT node, locale, back, day FROM sessions WHERE key = ?", (key,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        node, locale, back, day = row
        return State(node=node, locale=locale, back=tuple(back.split()) if back else (), day=day)

    async def record(self, key: bytes, state: State | None, events: Iterable[tuple[str, str]], day: int) -> None:
        """In one transaction: save the state (or delete it when None) and count the events for `day`."""
        db = self._db
        async with self._write:
            await self._record(db, key, state, events, day)

    @staticmethod
    async def _record(
        db: aiosqlite.Connection, key: bytes, state: State | None, events: Iterable[tuple[str, str]], day: int
    ) -> None:
        await db.execute("BEGIN")
        try:
            if state is None:
                await db.execute("DELETE FROM sessions WHERE key = ?", (key,))
            else:
                await db.execute(
                    "INSERT INTO sessions (key, node, locale, back, day) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET node = excluded.node, locale = excluded.locale, "
                    "back = excluded.back, day = excluded.day",
                    (key, state.node, state.locale, " ".join(state.back), state.day),
                )
            rows = [(day, kind, name) for kind, name in events]
            if rows:
                await db.executemany(
                    "INSERT INTO counters (day, kind, name, count) VALUES (?, ?, ?, 1) "
                    "ON CONFLICT(day, kind, name) DO UPDATE SET count = count + 1",
                    rows,
                )
            await db.execute("COMMIT")
        except BaseException:
            await db.execute("ROLLBACK")
            raise

    async def delete(self, key: bytes) -> None:
        """Delete a user's session."""
        async with self._write:
            await self._db.execute("DELETE FROM sessions WHERE key = ?", (key,))

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days`; returns how many went."""
        async with self._write:
            cursor = await self._db.execute("DELETE FROM sessions WHERE day < ?", (today - retention_days,))
            count = cursor.rowcount
            await cursor.close()
        return count

    async def counters(self, first_day: int, last_day: int) -> list[tuple[int, str, str, int]]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        async with self._db.execute(
            "SELECT day, kind, name, count FROM counters WHERE day BETWEEN ? AND ? ORDER BY day, kind, name",
            (first_day, last_day),
        ) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]  # type: ignore[misc]

    async def session_count(self) -> int:
        """How many sessions are stored."""
        async with self._db.execute("SELECT count(*) FROM sessions") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def close(self) -> None:
        """Fold the WAL into the main file and close."""
        try:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await self._db.close()
