"""One user's turn in PostgreSQL: one SELECT of state and case together, one statement for the whole write."""

from __future__ import annotations

from typing import Any

from bot.store.base import Turn, TurnWrite
from bot.store.postgres.core import PostgresCore
from bot.store.rows import case_from_row, session_values, state_from_row, turn_select

LOAD_TURN = turn_select("%(key)s::bytea")
UPSERT_SESSION = (
    "INSERT INTO sessions (key, node, locale, back, day, nation, misses) "
    "VALUES (%(key)s, %(node)s, %(locale)s, %(back)s, %(day)s, %(nation)s, %(misses)s) "
    "ON CONFLICT (key) DO UPDATE SET node = excluded.node, locale = excluded.locale, back = excluded.back, "
    "day = excluded.day, nation = excluded.nation, misses = excluded.misses"
)
_SESSION_FIELDS = ("node", "locale", "back", "day", "nation", "misses")
# Events of one turn may repeat; ON CONFLICT may change a row once per statement, so they are grouped first.
COUNT_EVENTS = (
    "INSERT INTO counters (day, kind, name, count) "
    "SELECT %(day)s, kind, name, count(*) FROM unnest(%(kinds)s::text[], %(names)s::text[]) AS e(kind, name) "
    "GROUP BY kind, name "
    "ON CONFLICT (day, kind, name) DO UPDATE SET count = counters.count + excluded.count"
)
TOUCH_CASE = "UPDATE cases SET active = %(now)s WHERE alias = %(alias)s"


def turn_statement(write: TurnWrite) -> tuple[str, dict[str, Any]]:
    """The whole turn as one statement: each part a data-modifying CTE, so it commits or fails as one."""
    parts: list[str] = []
    values: dict[str, Any] = {"key": write.key}
    state = write.state
    if state is None:
        parts.append("DELETE FROM sessions WHERE key = %(key)s")
    else:
        parts.append(UPSERT_SESSION)
        values.update(zip(_SESSION_FIELDS, session_values(state), strict=True))
    if write.events:
        parts.append(COUNT_EVENTS.replace("%(day)s", "%(event_day)s"))
        values["event_day"] = write.day
        values["kinds"] = [kind for kind, _ in write.events]
        values["names"] = [name for _, name in write.events]
    if write.touch is not None:
        parts.append(TOUCH_CASE)
        values["alias"], values["now"] = write.touch
    ctes = ", ".join(f"w{number} AS ({part})" for number, part in enumerate(parts))
    return f"WITH {ctes} SELECT 1", values


class PostgresTurns(PostgresCore):
    """Sessions as a turn reads and writes them."""

    async def load_turn(self, key: bytes) -> Turn:
        """The user's state and open case, in one SELECT."""
        rows = await self._rows(LOAD_TURN, {"key": key})
        node, locale, back, day, nation, misses, *case = rows[0]
        state = state_from_row(node, locale, back, day, nation, misses)
        return Turn(state, None if case[0] is None else case_from_row(case))

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn's state, counters and case touch, in one statement (one round trip, atomic)."""
        query, values = turn_statement(write)
        await self._rows(query, values)
        if write.state is None:
            self.note_deletion()

    async def delete(self, key: bytes) -> None:
        """Delete a user's session and any block on them (they asked to be forgotten)."""
        await self._rows(
            "WITH b AS (DELETE FROM blocks WHERE user_key = %(key)s) DELETE FROM sessions WHERE key = %(key)s",
            {"key": key},
        )
        self.note_deletion()
