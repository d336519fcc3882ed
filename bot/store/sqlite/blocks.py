"""Blocks in SQLite: a person staff stopped from opening cases for a while, known only by their key."""

from __future__ import annotations

from bot.store.sqlite.connection import rows
from bot.store.sqlite.core import SQLiteCore


class SQLiteBlocks(SQLiteCore):
    """The blocks table (expired blocks go with the retention, in counters.py)."""

    async def block(self, user_key: bytes, alias: str, until_day: int) -> None:
        """Block a user from opening cases until `until_day` (inclusive); a later block replaces an earlier one."""
        await self._write(
            lambda db: db.execute(
                "INSERT INTO blocks (user_key, alias, until_day) VALUES (?, ?, ?) ON CONFLICT (user_key) "
                "DO UPDATE SET alias = excluded.alias, until_day = excluded.until_day",
                (user_key, alias, until_day),
            )
        )

    async def blocked_until(self, user_key: bytes) -> int | None:
        """The last day of the user's block, or None when they are not blocked."""
        found = await self._read(rows("SELECT until_day FROM blocks WHERE user_key = ?", (user_key,)))
        return int(found[0][0]) if found else None

    async def unblock(self, alias: str) -> bool:
        """Lift the block made from case `alias`; False when there was none."""
        gone: bool = await self._write(
            lambda db: db.execute("DELETE FROM blocks WHERE alias = ?", (alias,)).rowcount > 0
        )
        if gone:
            self.note_deletion()
        return gone

    async def blocked_count(self, today: int) -> int:
        """How many blocks are still in force on `today`."""
        return int((await self._read(rows("SELECT count(*) FROM blocks WHERE until_day >= ?", (today,))))[0][0])
