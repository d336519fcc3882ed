"""Small-count suppression, so that no number staff see can single a person out.

A count from 1 to 4 is shown as "<5". That alone is not enough: when a column's total is shown and
just one of its cells is hidden, the total minus the others gives the hidden one away. So in any such
group one more cell is hidden (the smallest), shown as "5+": true, and no help in working the other out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

THRESHOLD = 5
SMALL = "<5"  # 1 to 4
HIDDEN = "5+"  # hidden so that a small count cannot be worked out from a total

Cell = TypeVar("Cell", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Group(Generic[Cell]):
    """Cells whose sum is shown in (or can be read off) another cell, `total`."""

    members: tuple[Cell, ...]
    total: Cell


def protect(cells: Mapping[Cell, int], groups: Iterable[Group[Cell]]) -> dict[Cell, str]:
    """The cells that must not be shown, each with what to show instead (SMALL or HIDDEN)."""
    marks: dict[Cell, str] = {key: SMALL for key, value in cells.items() if 0 < value < THRESHOLD}
    groups = tuple(groups)
    changed = True
    while changed:  # hiding a cell can leave another group with one hidden cell: repeat until none does
        changed = False
        for group in groups:
            if group.total in marks:
                continue  # the total itself is hidden: nothing can be subtracted from it
            hidden = [key for key in group.members if key in marks]
            if len(hidden) != 1:
                continue
            shown = [key for key in group.members if key not in marks and cells.get(key, 0) > 0]
            if shown:
                marks[min(shown, key=lambda key: cells[key])] = HIDDEN
                changed = True
    return marks
