"""One user's turn in SQLite: one read of state and case together, one write joining the next group commit."""

from __future__ import annotations

import sqlite3

from bot.store.base import Turn, TurnWrite
from bot.store.rows import case_from_row, session_values, state_from_row, turn_select
from bot.store.sqlite.core import SQLiteCore

UPSERT_SESSION = (
    "INSERT INTO sessions (key, node, locale, back, day, nation, misses) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET node = excluded.node, locale = excluded.locale, "
    "back = excluded.back, day = excluded.day, nation = excluded.nation, misses = excluded.misses"
)
COUNT_EVENT = (
    "INSERT INTO counters (day, kind, name, count) VALUES (?, ?, ?, 1) "
    "ON CONFLICT (day, kind, name) DO UPDATE SET count = count + 1"
)
TOUCH_CASE = "UPDATE cases SET active = ? WHERE alias = ?"
LOAD_TURN = turn_select("?")


class SQLiteTurns(SQLiteCore):
    """Sessions as a turn reads and writes them."""

    async def load_turn(self, key: bytes) -> Turn:
        """The user's state and open case, in one SELECT (one hop)."""
        row = await self._read(lambda db: db.execute(LOAD_TURN, (key,)).fetchone())
        node, locale, back, day, nation, misses, *case = row
        state = state_from_row(node, locale, back, day, nation, misses)
        return Turn(state, None if case[0] is None else case_from_row(case))

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn's state, counters and case touch, in the next group commit."""
        rows = [(write.day, kind, name) for kind, name in write.events]
        state = write.state

        def apply(db: sqlite3.Connection) -> None:
            if state is None:
                db.execute("DELETE FROM sessions WHERE key = ?", (write.key,))
                db.execute("DELETE FROM blocks WHERE user_key = ?", (write.key,))  # forgotten means forgotten
            else:
                db.execute(UPSERT_SESSION, (write.key, *session_values(state)))
            if rows:
                db.executemany(COUNT_EVENT, rows)
            if write.touch is not None:
                alias, now = write.touch
                db.execute(TOUCH_CASE, (now, alias))

        await self._write(apply)
        if state is None:
            self.note_deletion()
