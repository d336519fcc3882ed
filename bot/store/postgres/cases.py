"""Handoff cases in PostgreSQL: adding, changing (the shared wording in bot/store/casechanges.py), finding,
removing. Concurrent changes are settled by the server, so they hold across replicas."""

from __future__ import annotations

from bot.handoff.cases import Case
from bot.store.base import CASE_COLUMNS
from bot.store.casechanges import CaseChanges
from bot.store.postgres.core import PostgresCore
from bot.store.rows import case_from_row, case_values

_COLUMNS = ", ".join(CASE_COLUMNS)


class PostgresCases(PostgresCore, CaseChanges):
    """The cases table: one row an open case, deleted when it closes."""

    MARK = "%s"
    NUDGE = ("nudged = true", "NOT nudged")

    async def insert_case(self, case: Case) -> bool:
        """Add a new case; False (nothing stored) when its alias is taken or its user already has one."""
        marks = ", ".join(["%s"] * len(CASE_COLUMNS))
        sql = f"INSERT INTO cases ({_COLUMNS}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        return await self._changed(sql, case_values(case)) == 1

    async def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        return await self._changed(f"UPDATE cases SET {assignments} WHERE alias = %s{extra}", (*values, alias)) == 1

    async def _find_case(self, column: str, value: object) -> Case | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM cases WHERE {column} = %s", (value,))
        return case_from_row(rows[0]) if rows else None

    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""
        rows = await self._rows(f'SELECT {_COLUMNS} FROM cases ORDER BY opened, alias COLLATE "C"')
        return [case_from_row(row) for row in rows]

    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""
        gone = await self._changed(
            "WITH r AS (DELETE FROM relays WHERE alias = %(alias)s) DELETE FROM cases WHERE alias = %(alias)s",
            {"alias": alias},
        )
        self.note_deletion()
        return gone == 1
