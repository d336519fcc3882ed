"""Reading settings.yaml: each group of settings checked, what is valid kept, defaults for the rest."""

from __future__ import annotations

import zoneinfo
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bot.flows.settings.hours import parse_bank_holidays, parse_staff_hours
from bot.flows.settings.languages import parse_languages
from bot.flows.settings.model import Settings
from bot.flows.settings.reviews import parse_reviews
from bot.flows.yamlsource import LineDict

if TYPE_CHECKING:
    from bot.flows.checker import Checker

SETTINGS_KEYS = (
    "default_language",
    "languages",
    "time_zone",
    "start",
    "menu",
    "retention_days",
    "back_depth",
    "staff_hours",
    "closed",
    "handoff_nudge_minutes",
    "handoff_idle_minutes",
    "waiting_services",
    "preview_words",
    "bank_holidays",
    "handoff_unclaimed_minutes",
    "handoff_openings_per_hour",
    "transcript_days",
    "reviewed",
    "signal_expiration_days",
)
# Whole-number settings and the least each may be.
WHOLE_NUMBERS = (
    ("retention_days", 1),
    ("back_depth", 1),
    ("handoff_nudge_minutes", 1),
    ("handoff_idle_minutes", 5),
    ("handoff_unclaimed_minutes", 5),
    ("handoff_openings_per_hour", 1),
    ("transcript_days", 1),
    ("signal_expiration_days", 0),
)


def parse_settings(ck: Checker, path: Path, doc: Any) -> None:
    """Check settings.yaml and keep what is valid in `ck.settings` (defaults for the rest)."""
    file = ck.display(path)
    data = ck.mapping(file, 1, "", doc, "settings.yaml")
    if data is None:
        return
    ck.unknown_keys(file, "", data, SETTINGS_KEYS, "settings")
    ck.settings_lines = {k: data.line_of(k) for k in data}
    values: dict[str, Any] = {}
    values["default_language"], values["languages"] = parse_languages(ck, file, data)
    tz = data.get("time_zone", "Europe/London")
    try:
        zoneinfo.ZoneInfo(str(tz))
        values["time_zone"] = str(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        ck.error(
            file, data.line_of("time_zone"), "", f"unknown time zone `{tz}`", "use an IANA name like Europe/London"
        )
    values.update(_entry_points(ck, file, data))
    values.update(_whole_numbers(ck, file, data))
    if "staff_hours" in data:
        values["staff_hours"] = parse_staff_hours(ck, file, data)
    values.update(parse_bank_holidays(ck, file, data))
    values.update(_closed_and_waiting(ck, file, data))
    values.update(_preview_words(ck, file, data))
    if "reviewed" in data:
        values["reviewed"] = parse_reviews(ck, file, data, values["languages"])
    ck.settings = Settings(**values)


def _entry_points(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("start", "menu"):
        if key in data:
            value = data[key]
            if not isinstance(value, str) or "." not in value:
                ck.error(file, data.line_of(key), "", f"`{key}` should be `flow.node`", "e.g. main.welcome")
            else:
                values[key] = value
    return values


def _whole_numbers(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, low in WHOLE_NUMBERS:
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                ck.error(file, data.line_of(key), "", f"`{key}` should be a whole number ≥ {low}", "e.g. 30")
            else:
                values[key] = value
    return values


def _closed_and_waiting(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "closed" in data:
        closed = data["closed"]
        if not isinstance(closed, list) or not all(isinstance(d, date) for d in closed):
            ck.error(
                file, data.line_of("closed"), "", "`closed` should be a list of dates", "e.g. [2026-12-25, 2026-12-26]"
            )
        else:
            values["closed"] = tuple(closed)
    waiting = data.get("waiting_services", [])
    if not isinstance(waiting, list) or not all(isinstance(w, str) for w in waiting):
        ck.error(
            file,
            data.line_of("waiting_services"),
            "",
            "`waiting_services` should be a list of service ids",
            "e.g. [emergency_999, samaritans]",
        )
    else:
        values["waiting_services"] = tuple(waiting)
    return values


def _preview_words(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
    if "preview_words" not in data:
        return {}
    words = data["preview_words"]
    if not isinstance(words, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) and w.strip() for w in v) for v in words.values()
    ):
        ck.error(
            file,
            data.line_of("preview_words"),
            "",
            "`preview_words` should list words per language",
            "e.g. {en: [sex, HIV], ro: [sex, HIV]}",
        )
        return {}
    return {"preview_words": MappingProxyType({str(k): tuple(v) for k, v in words.items()})}
