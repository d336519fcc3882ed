"""The secret an SQLite database belongs to: its check value, and starting over under a new secret."""

from __future__ import annotations

import sqlite3

from bot.store.sqlite.connection import rows
from bot.store.sqlite.core import SQLiteCore

SET_SECRET_CHECK = (
    "INSERT INTO secret_check (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value"
)


class SQLiteSecret(SQLiteCore):
    """The secret_check table, and what is tied to the secret (sessions, cases, relays, blocks)."""

    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""
        found = await self._read(rows("SELECT value FROM secret_check WHERE id = 1"))
        return bytes(found[0][0]) if found else None

    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""
        await self._write(lambda db: db.execute(SET_SECRET_CHECK, (value,)))

    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""
        found = await self._read(rows("SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM cases)"))
        return bool(found[0][0])

    async def start_over(self, check: bytes) -> None:
        """Delete every session and case (unreachable under a new secret) and record the new secret's check."""

        def wipe(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM cases")
            db.execute("DELETE FROM relays")  # sealed under the old secret: unreadable now
            db.execute("DELETE FROM blocks")  # keyed under the old secret: nobody's any more
            db.execute(SET_SECRET_CHECK, (check,))

        await self._write(wipe)
        self.note_deletion()
