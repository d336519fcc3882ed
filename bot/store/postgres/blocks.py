"""Blocks in PostgreSQL: a person staff stopped from opening cases for a while, known only by their key."""

from __future__ import annotations

from bot.store.postgres.core import PostgresCore


class PostgresBlocks(PostgresCore):
    """The blocks table (expired blocks go with the retention, in counters.py)."""

    async def block(self, user_key: bytes, alias: str, until_day: int) -> None:
        """Block a user (known to staff by a case alias) until `until_day`; blocking again moves the day."""
        await self._changed(
            "INSERT INTO blocks (user_key, alias, until_day) VALUES (%s, %s, %s) ON CONFLICT (user_key) "
            "DO UPDATE SET alias = excluded.alias, until_day = excluded.until_day",
            (user_key, alias, until_day),
        )

    async def blocked_until(self, user_key: bytes) -> int | None:
        """The day a user's block runs to, or None when they are not blocked."""
        rows = await self._rows("SELECT until_day FROM blocks WHERE user_key = %s", (user_key,))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    async def unblock(self, alias: str) -> bool:
        """Lift the block staff know by `alias`; False when there was none."""
        gone = await self._changed("DELETE FROM blocks WHERE alias = %s", (alias,)) > 0
        if gone:
            self.note_deletion()
        return gone

    async def blocked_count(self, today: int) -> int:
        """How many blocks are in force on `today`."""
        rows = await self._rows("SELECT count(*) FROM blocks WHERE until_day >= %s", (today,))
        return int(rows[0][0])
