"""The secret a PostgreSQL database belongs to: its check value, and starting over under a new secret."""

from __future__ import annotations

from psycopg import sql

from bot.store.postgres.core import PostgresCore

SET_SECRET_CHECK = (
    "INSERT INTO secret_check (id, value) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET value = excluded.value"
)


class PostgresSecret(PostgresCore):
    """The secret_check table, and what is tied to the secret (sessions, cases, relays, blocks)."""

    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""
        rows = await self._rows("SELECT value FROM secret_check WHERE id = 1")
        return bytes(rows[0][0]) if rows else None

    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""
        await self._changed(SET_SECRET_CHECK, (value,))

    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""
        rows = await self._rows("SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM cases)")
        return bool(rows[0][0])

    async def start_over(self, check: bytes) -> None:
        """Delete every session, case, relay and block (unreachable under a new secret) and record the new check."""
        async with self._connection() as connection, connection.transaction():
            for table in ("sessions", "cases", "relays", "blocks"):
                await connection.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            await connection.execute(SET_SECRET_CHECK, (check,))
        self.note_deletion()
