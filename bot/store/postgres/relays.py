"""Relays waiting to be sent, and closed case topics waiting out their retention, in PostgreSQL."""

from __future__ import annotations

from typing import Any

import psycopg

from bot.store.postgres.core import PostgresCore


class PostgresRelays(PostgresCore):
    """The relays and closed_topics tables."""

    async def add_relay(self, alias: str, body: bytes, limit: int, active: int | None = None) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting.
        With `active`, note the case's latest activity in the same transaction."""
        async with self._connection() as connection, connection.transaction():
            return await self._queue_relay(connection, alias, body, limit, active)

    @staticmethod
    async def _queue_relay(
        connection: psycopg.AsyncConnection[Any], alias: str, body: bytes, limit: int, active: int | None
    ) -> int | None:
        """`add_relay`'s statements, inside the caller's transaction."""
        # The case's row lock puts concurrent relays of one case in line, so the limit holds and ids
        # follow the order they were queued in; the count below then sees every earlier one. Noting
        # the activity takes the same lock as the bare lock would.
        if active is None:
            locked = await connection.execute("SELECT 1 FROM cases WHERE alias = %s FOR UPDATE", (alias,))
        else:
            locked = await connection.execute(
                "UPDATE cases SET active = %s WHERE alias = %s RETURNING 1", (active, alias)
            )
        if await locked.fetchone() is None:
            return None
        cursor = await connection.execute(
            "INSERT INTO relays (alias, body) SELECT %(alias)s, %(body)s "
            "WHERE (SELECT count(*) FROM relays WHERE alias = %(alias)s) < %(limit)s RETURNING id",
            {"alias": alias, "body": body, "limit": limit},
        )
        row = await cursor.fetchone()
        return None if row is None else int(row[0])

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""
        rows = await self._rows("SELECT id, body FROM relays WHERE alias = %s ORDER BY id", (alias,))
        return [(int(i), bytes(b)) for i, b in rows]

    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""
        rows = await self._rows('SELECT DISTINCT alias COLLATE "C" FROM relays ORDER BY 1')
        return [str(a) for (a,) in rows]

    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""
        await self._changed("DELETE FROM relays WHERE id = %s", (relay_id,))
        self.note_deletion()

    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose) so it can be deleted with the retention or on /forget."""
        await self._changed(
            "INSERT INTO closed_topics (thread_id, day, user_key) VALUES (%s, %s, %s) ON CONFLICT (thread_id) "
            "DO UPDATE SET day = excluded.day, user_key = excluded.user_key",
            (thread_id, day, user_key),
        )

    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""
        rows = await self._rows(
            "SELECT thread_id FROM closed_topics WHERE user_key = %s ORDER BY thread_id", (user_key,)
        )
        return [int(t) for (t,) in rows]

    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""
        rows = await self._rows(
            "SELECT thread_id FROM closed_topics WHERE day < %s ORDER BY day, thread_id", (before_day,)
        )
        return [int(t) for (t,) in rows]

    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""
        await self._changed("DELETE FROM closed_topics WHERE thread_id = %s", (thread_id,))
