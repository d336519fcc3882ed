"""Relays waiting to be sent, and closed case topics waiting out their retention, in SQLite."""

from __future__ import annotations

import sqlite3

from bot.store.sqlite.connection import rows
from bot.store.sqlite.core import SQLiteCore


class SQLiteRelays(SQLiteCore):
    """The relays and closed_topics tables."""

    async def add_relay(self, alias: str, body: bytes, limit: int) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting."""

        def add(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT (SELECT count(*) FROM cases WHERE alias = ?), (SELECT count(*) FROM relays WHERE alias = ?)",
                (alias, alias),
            ).fetchone()
            if row is None or row[0] == 0 or row[1] >= limit:
                return None
            return db.execute("INSERT INTO relays (alias, body) VALUES (?, ?)", (alias, body)).lastrowid

        added: int | None = await self._write(add)
        return added

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""
        found = await self._read(rows("SELECT id, body FROM relays WHERE alias = ? ORDER BY id", (alias,)))
        return [(int(i), bytes(b)) for i, b in found]

    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""
        return [str(a) for (a,) in await self._read(rows("SELECT DISTINCT alias FROM relays ORDER BY alias"))]

    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""
        await self._write(lambda db: db.execute("DELETE FROM relays WHERE id = ?", (relay_id,)))

    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose, as the session does) so it can be deleted with the retention "
        "or on /forget."""
        await self._write(
            lambda db: db.execute(
                "INSERT INTO closed_topics (thread_id, day, user_key) VALUES (?, ?, ?) ON CONFLICT (thread_id) "
                "DO UPDATE SET day = excluded.day, user_key = excluded.user_key",
                (thread_id, day, user_key),
            )
        )

    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""
        found = await self._read(rows("SELECT thread_id FROM closed_topics WHERE user_key = ?", (user_key,)))
        return [int(t) for (t,) in found]

    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""
        found = await self._read(rows("SELECT thread_id FROM closed_topics WHERE day < ? ORDER BY day", (before_day,)))
        return [int(t) for (t,) in found]

    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""
        await self._write(lambda db: db.execute("DELETE FROM closed_topics WHERE thread_id = ?", (thread_id,)))
