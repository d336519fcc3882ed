"""Rows as both backends read and write them: a session's and a case's columns to and from their types."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.engine import State
from bot.handoff.cases import Case
from bot.store.base import CASE_COLUMNS, CounterRow

# The columns the turn's one SELECT reads: the session's, then the case's (every one NULL when there is none).
_TURN_COLUMNS = "s.node, s.locale, s.back, s.day, s.nation, s.misses, " + ", ".join(f"c.{c}" for c in CASE_COLUMNS)


def turn_select(key: str) -> str:
    """The SELECT of a user's state and open case together; `key` is the backend's parameter for the user key."""
    return (
        f"SELECT {_TURN_COLUMNS} FROM (SELECT {key} AS key) AS wanted LEFT JOIN sessions AS s ON s.key = wanted.key "
        "LEFT JOIN cases AS c ON c.user_key = wanted.key"
    )


def session_values(state: State) -> tuple[object, ...]:
    """A state's session columns after the key: node, locale, back, day, nation, misses."""
    return state.node, state.locale, " ".join(state.back), state.day, state.nation, state.misses


def state_from_row(node: Any, locale: Any, back: Any, day: Any, nation: Any, misses: Any) -> State | None:
    """The state a session row holds; None when there was no row (its day, never NULL in a row, is)."""
    if day is None:
        return None
    return State(
        node=node,
        locale=locale,
        back=tuple(back.split(" ")) if back else (),
        day=int(day),
        nation=nation,
        misses=int(misses),
    )


def case_values(case: Case) -> tuple[object, ...]:
    """A case's values in CASE_COLUMNS order, its path one space-separated string."""
    return (
        case.alias,
        case.user_key,
        case.sealed_chat,
        case.locale,
        " ".join(case.path),
        case.opened,
        case.active,
        case.thread_id,
        case.claimed,
        case.staff_alias,
        case.nudged,
    )


def case_from_row(row: Sequence[Any]) -> Case:
    """The case a row of CASE_COLUMNS holds."""
    alias, key, sealed, locale, path, opened, active, thread, claimed, staff_alias, nudged = row
    return Case(
        alias=str(alias),
        user_key=bytes(key),
        sealed_chat=bytes(sealed),
        locale=str(locale),
        path=tuple(str(path).split(" ")) if path else (),
        opened=int(opened),
        active=int(active),
        thread_id=None if thread is None else int(thread),
        claimed=None if claimed is None else int(claimed),
        staff_alias=staff_alias,
        nudged=bool(nudged),
    )


def counter_rows(rows: Iterable[Sequence[Any]]) -> list[CounterRow]:
    """Counter rows (day or month, kind, name, count) with their types."""
    return [(int(when), str(kind), str(name), int(count)) for when, kind, name, count in rows]
