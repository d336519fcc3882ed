"""When staff are in, from settings.yaml: the weekly staff hours, and the UK nation whose bank holidays close."""

from __future__ import annotations

import re
from datetime import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.flows.settings.model import StaffHours
from bot.flows.yamlsource import LineDict

if TYPE_CHECKING:
    from bot.flows.checker import Checker

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UK_NATIONS = ("ENG", "WLS", "SCT", "NIR")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def parse_bank_holidays(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
    """`bank_holidays`: a UK nation code, or none; {} when absent or wrong (the error recorded in `ck`)."""
    if "bank_holidays" not in data:
        return {}
    nation = data["bank_holidays"]
    if nation in (None, "none"):
        return {"bank_holidays": ""}
    if nation not in UK_NATIONS:
        ck.error(
            file,
            data.line_of("bank_holidays"),
            "",
            f"`{nation}` is not a UK nation code",
            "use ENG (England), WLS (Wales), SCT (Scotland), NIR (Northern Ireland) or none",
        )
        return {}
    return {"bank_holidays": nation}


def parse_staff_hours(ck: Checker, file: str, data: LineDict) -> StaffHours:
    """`staff_hours`: each weekday's `HH:MM-HH:MM` intervals, sorted; wrong ones are left out with an error."""
    hours = ck.mapping(file, data.line_of("staff_hours"), "", data["staff_hours"], "`staff_hours`")
    result: dict[int, tuple[tuple[time, time], ...]] = {}
    if hours is None:
        return MappingProxyType(result)
    ck.unknown_keys(file, "", hours, WEEKDAYS, "staff_hours")
    for day, spec in hours.items():
        if day in WEEKDAYS:
            parts = spec if isinstance(spec, list) else [spec]
            intervals = [found for part in parts if (found := _interval(ck, file, hours.line_of(day), day, part))]
            result[WEEKDAYS.index(day)] = tuple(sorted(intervals))
    return MappingProxyType(result)


def _interval(ck: Checker, file: str, line: int, day: str, part: Any) -> tuple[time, time] | None:
    match = _HOURS.match(str(part).strip()) if isinstance(part, str) else None
    if not match:
        ck.error(
            file, line, "", f"staff hours `{part}` for {day} are not `HH:MM-HH:MM`", 'e.g. "10:00-17:00" (in quotes)'
        )
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2, m2) <= (h1, m1):
        ck.error(
            file,
            line,
            "",
            f"staff hours `{part}` for {day} do not make sense",
            "the end must come after the start, within one day",
        )
        return None
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end
