"""Handoff cases in SQLite: adding, changing (the shared wording in bot/store/casechanges.py), finding, removing."""

from __future__ import annotations

import sqlite3

from bot.handoff.cases import Case
from bot.store.base import CASE_COLUMNS
from bot.store.casechanges import CaseChanges
from bot.store.rows import case_from_row, case_values
from bot.store.sqlite.connection import rows
from bot.store.sqlite.core import SQLiteCore

_COLUMNS = ", ".join(CASE_COLUMNS)


class SQLiteCases(SQLiteCore, CaseChanges):
    """The cases table: one row an open case, deleted when it closes."""

    MARK = "?"
    NUDGE = ("nudged = 1", "nudged = 0")

    async def insert_case(self, case: Case) -> bool:
        """Add a new case; False (nothing stored) when its alias is taken or its user already has one."""
        values = case_values(case)
        marks = ", ".join("?" * len(CASE_COLUMNS))
        sql = f"INSERT INTO cases ({_COLUMNS}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        inserted: bool = await self._write(lambda db: db.execute(sql, values).rowcount == 1)
        return inserted

    async def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        sql = f"UPDATE cases SET {assignments} WHERE alias = ?{extra}"
        changed: bool = await self._write(lambda db: db.execute(sql, (*values, alias)).rowcount == 1)
        return changed

    async def _find_case(self, column: str, value: object) -> Case | None:
        found = await self._read(rows(f"SELECT {_COLUMNS} FROM cases WHERE {column} = ?", (value,)))
        return case_from_row(found[0]) if found else None

    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""
        found = await self._read(rows(f"SELECT {_COLUMNS} FROM cases ORDER BY opened, alias"))
        return [case_from_row(row) for row in found]

    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""

        def remove(db: sqlite3.Connection) -> bool:
            gone = db.execute("DELETE FROM cases WHERE alias = ?", (alias,)).rowcount == 1
            db.execute("DELETE FROM relays WHERE alias = ?", (alias,))
            return gone

        gone: bool = await self._write(remove)
        self.note_deletion()
        return gone
