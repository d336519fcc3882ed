"""What of the statistics may be shown without singling anyone out (bot/privacy/disclosure.py).

Counts under 5 show as "<5", a cell that would give one away is hidden too, a language, step or
trigger seen fewer than 5 times in the period is left out, and so are waiting times when fewer
than 5 people waited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.privacy.disclosure import THRESHOLD, Group, protect
from bot.stats.tally import Stats, Tally

COUNTS = ("started", "requested", "claimed", "crisis")
BREAKDOWNS = (("trigger", "triggers"), ("language", "languages"), ("node", "nodes"))
Row = tuple[str, date]  # ("month", its first day), ("day", the day) or TOTAL
Column = tuple[str, str]  # ("count", one of COUNTS) or (breakdown prefix, name)
TOTAL: Row = ("total", date.min)


@dataclass(frozen=True, slots=True)
class Shown:
    """The period as a table of cells, and the cells that must be shown as "<5" or "5+" instead."""

    rows: tuple[tuple[Row, Tally], ...]  # months, days, then TOTAL
    marks: Mapping[tuple[Row, Column], str]

    def count(self, row: Row, counts: Tally, number: Callable[[int], str] = str) -> dict[str, str]:
        """The fixed counts of a row as they may be shown, by name."""
        return {name: self.marks.get((row, ("count", name))) or number(getattr(counts, name)) for name in COUNTS}

    def cell(self, row: Row, column: Column, counts: Tally) -> str:
        return self.marks.get((row, column)) or str(_value(counts, column))

    def visible(self, row: Row, prefix: str, items: Mapping[str, int]) -> dict[str, int]:
        """The breakdown items that may be named for this row (seen often enough, not hidden)."""
        return {name: count for name, count in items.items() if (row, (prefix, name)) not in self.marks}


def shown(stats: Stats) -> Shown:
    """Work out which cells of the period's table must be suppressed."""
    rows: tuple[tuple[Row, Tally], ...] = (
        *((("month", month), counts) for month, counts in stats.months),
        *((("day", day), counts) for day, counts in stats.days),
        (TOTAL, stats.total),
    )
    columns: list[Column] = [("count", name) for name in COUNTS]
    for prefix, attribute in BREAKDOWNS:
        columns.extend((prefix, name) for name in getattr(stats.total, attribute))
    cells = {(row, column): _value(counts, column) for row, counts in rows for column in columns}
    groups = [Group(tuple((row, column) for row, _ in rows[:-1]), (TOTAL, column)) for column in columns]
    # A day's languages add up to about its new conversations: one hidden language must not be their difference.
    languages = [column for column in columns if column[0] == "language"]
    groups.extend(Group(tuple((row, column) for column in languages), (row, ("count", "started"))) for row, _ in rows)
    return Shown(rows, protect(cells, groups))


def _value(counts: Tally, column: Column) -> int:
    prefix, name = column
    if prefix == "count":
        return int(getattr(counts, name))
    return int(getattr(counts, dict(BREAKDOWNS)[prefix]).get(name, 0))


def waits_shown(counts: Tally) -> bool:
    """Whether waiting times may be shown: a percentile over fewer than 5 waits is close to one person's wait."""
    return sum(counts.waits.values()) >= THRESHOLD
