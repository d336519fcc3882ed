"""Anonymous counters and retention in SQLite: daily counts, their monthly roll-up, purging idle sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import partial

from bot.store.base import DAILY_DAYS, CounterRow, month_of
from bot.store.rows import counter_rows
from bot.store.sqlite.connection import rows
from bot.store.sqlite.core import SQLiteCore
from bot.store.sqlite.turns import COUNT_EVENT

PURGE_BATCH = 2_000  # rows deleted per write; other users' turns are committed between batches
ADD_TO_MONTH = (
    "INSERT INTO monthly_counters (month, kind, name, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (month, kind, name) DO UPDATE SET count = count + excluded.count"
)


def _purge_batch(db: sqlite3.Connection, before_day: int, batch: int) -> int:
    return int(
        db.execute(
            "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < ? LIMIT ?)", (before_day, batch)
        ).rowcount
    )


class SQLiteCounters(SQLiteCore):
    """The counters and monthly_counters tables, and the retention that purges sessions and blocks."""

    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""
        found = [(day, kind, name) for kind, name in events]
        if found:
            await self._write(lambda db: db.executemany(COUNT_EVENT, found))

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days`, a batch per write, and roll old daily
        counters up into months; returns how many sessions went."""
        purged = 0
        while True:
            batch = PURGE_BATCH
            gone: int = await self._write(partial(_purge_batch, before_day=today - retention_days, batch=batch))
            purged += gone
            if gone < batch:
                break
        rolled = await self.roll_up_counters(today - DAILY_DAYS)
        expired = await self._write(lambda db: db.execute("DELETE FROM blocks WHERE until_day < ?", (today,)).rowcount)
        if purged or rolled or expired:
            self.note_deletion()
        return purged

    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""

        def roll(db: sqlite3.Connection) -> int:
            found = db.execute("SELECT day, kind, name, count FROM counters WHERE day < ?", (before_day,)).fetchall()
            db.executemany(ADD_TO_MONTH, [(month_of(day), kind, name, count) for day, kind, name, count in found])
            db.execute("DELETE FROM counters WHERE day < ?", (before_day,))
            return len(found)

        return await self._write(roll)

    async def counters(self, first_day: int, last_day: int) -> list[CounterRow]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        found = await self._read(
            rows(
                "SELECT day, kind, name, count FROM counters WHERE day BETWEEN ? AND ? ORDER BY day, kind, name",
                (first_day, last_day),
            )
        )
        return counter_rows(found)

    async def monthly_counters(self, first_month: int, last_month: int) -> list[CounterRow]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""
        found = await self._read(
            rows(
                "SELECT month, kind, name, count FROM monthly_counters WHERE month BETWEEN ? AND ? ORDER BY "
                "month, kind, name",
                (first_month, last_month),
            )
        )
        return counter_rows(found)

    async def session_count(self) -> int:
        """How many sessions are stored."""
        return int((await self._read(rows("SELECT count(*) FROM sessions")))[0][0])
