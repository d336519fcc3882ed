"""Anonymous counters and retention in PostgreSQL: daily counts, their monthly roll-up, purging idle sessions."""

from __future__ import annotations

from collections.abc import Iterable

from bot.store.base import DAILY_DAYS, CounterRow
from bot.store.postgres.core import PostgresCore
from bot.store.postgres.turns import COUNT_EVENTS
from bot.store.rows import counter_rows

PURGE_BATCH = 2_000  # sessions deleted per statement; other turns go on between statements

# A day ordinal (Python's date.toordinal) as a date, then as the month number base.month_of gives.
_MONTH_OF_DAY = (
    "(extract(year FROM date '0001-01-01' + (day - 1))::int * 12 "
    "+ extract(month FROM date '0001-01-01' + (day - 1))::int - 1)"
)
ROLL_UP = (
    "WITH gone AS (DELETE FROM counters WHERE day < %(before)s RETURNING day, kind, name, count), "
    "added AS (INSERT INTO monthly_counters (month, kind, name, count) "
    f"SELECT {_MONTH_OF_DAY} AS month, kind, name, sum(count) FROM gone GROUP BY 1, kind, name "
    "ON CONFLICT (month, kind, name) DO UPDATE SET count = monthly_counters.count + excluded.count) "
    "SELECT count(*) FROM gone"
)


class PostgresCounters(PostgresCore):
    """The counters and monthly_counters tables, and the retention that purges sessions and blocks."""

    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""
        pairs = list(events)
        if pairs:
            await self._changed(
                COUNT_EVENTS, {"day": day, "kinds": [k for k, _ in pairs], "names": [n for _, n in pairs]}
            )

    async def counters(self, first_day: int, last_day: int) -> list[CounterRow]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        rows = await self._rows(
            "SELECT day, kind, name, count FROM counters WHERE day BETWEEN %s AND %s "
            'ORDER BY day, kind COLLATE "C", name COLLATE "C"',
            (first_day, last_day),
        )
        return counter_rows(rows)

    async def monthly_counters(self, first_month: int, last_month: int) -> list[CounterRow]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""
        rows = await self._rows(
            "SELECT month, kind, name, count FROM monthly_counters WHERE month BETWEEN %s AND %s "
            'ORDER BY month, kind COLLATE "C", name COLLATE "C"',
            (first_month, last_month),
        )
        return counter_rows(rows)

    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""
        rows = await self._rows(ROLL_UP, {"before": before_day})
        return int(rows[0][0])

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days` a batch at a time, blocks that ran out, and
        roll old daily counters up into months; returns how many sessions went."""
        purged = 0
        while True:
            gone = await self._changed(
                "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < %s LIMIT %s)",
                (today - retention_days, PURGE_BATCH),
            )
            purged += gone
            if gone < PURGE_BATCH:
                break
        await self._changed("DELETE FROM blocks WHERE until_day < %s", (today,))
        await self.roll_up_counters(today - DAILY_DAYS)
        self.note_deletion()
        return purged

    async def session_count(self) -> int:
        """How many sessions are stored."""
        return int((await self._rows("SELECT count(*) FROM sessions"))[0][0])
