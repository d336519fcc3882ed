"""`flows/settings.yaml`: the `Settings` dataclass and the checks that read it."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError

from bot.flows.yamlsource import LineDict, LineList

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
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UK_NATIONS = ("ENG", "WLS", "SCT", "NIR")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")

StaffHours = Mapping[int, tuple[tuple[time, time], ...]]


@dataclass(frozen=True, slots=True)
class Review:
    """Who read a language's translations as a native speaker or peer, and when; None when nobody has yet."""

    by: str | None = None
    on: date | None = None
    note: str = ""

    @property
    def done(self) -> bool:
        """True only when a named person reviewed it on a given day."""
        return bool(self.by) and self.on is not None


@dataclass(frozen=True, slots=True)
class Settings:
    """`flows/settings.yaml`: languages, time zone, entry points, retention, staff hours."""

    default_language: str = "en"
    languages: tuple[str, ...] = ("en",)
    time_zone: str = "Europe/London"
    start: str = "main.welcome"
    menu: str = "main.menu"
    retention_days: int = 30
    back_depth: int = 10
    # weekday (0 = Monday) -> opening intervals, local time
    staff_hours: StaffHours = field(default_factory=lambda: MappingProxyType({}))
    closed: tuple[date, ...] = ()
    handoff_nudge_minutes: int = 10  # unclaimed this long: the user gets signposting to use meanwhile
    handoff_idle_minutes: int = 120  # no message either way this long: the case closes itself
    waiting_services: tuple[str, ...] = ()
    # language -> words a lock-screen preview (a message's first line) must not show
    preview_words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    bank_holidays: str = "ENG"  # the UK nation whose bank holidays close the office ("" for none)
    handoff_unclaimed_minutes: int = 480  # staff-hours minutes an unanswered case stays open
    handoff_openings_per_hour: int = 3  # new staff topics one user may open in an hour; then the last is reused
    transcript_days: int = 30  # a closed case's topic (its transcript) is deleted after this many days
    # language -> its review; a language not listed counts as not reviewed
    reviewed: Mapping[str, Review] = field(default_factory=lambda: MappingProxyType({}))
    signal_expiration_days: int = 7  # Signal's disappearing-messages timer, set at first contact; 0: off


def is_locale(code: str) -> bool:
    """True for a language code babel knows (en, ro, pt_BR, zh_Hans ...)."""
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError, TypeError):
        return False
    return True


def parse_settings(ck: Checker, path: Path, doc: Any) -> None:
    """Check settings.yaml and keep what is valid in `ck.settings` (defaults for the rest)."""
    file = ck.display(path)
    data = ck.mapping(file, 1, "", doc, "settings.yaml")
    if data is None:
        return
    ck.unknown_keys(file, "", data, SETTINGS_KEYS, "settings")
    ck.settings_lines = {k: data.line_of(k) for k in data}
    values: dict[str, Any] = {}
    values["default_language"], values["languages"] = _languages(ck, file, data)
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
        values["staff_hours"] = _staff_hours(ck, file, data)
    values.update(_bank_holidays(ck, file, data))
    values.update(_closed_and_waiting(ck, file, data))
    values.update(_preview_words(ck, file, data))
    if "reviewed" in data:
        values["reviewed"] = _reviews(ck, file, data, values["languages"])
    ck.settings = Settings(**values)


def _languages(ck: Checker, file: str, data: LineDict) -> tuple[str, tuple[str, ...]]:
    default = data.get("default_language", "en")
    if not isinstance(default, str) or not is_locale(default):
        ck.error(
            file,
            data.line_of("default_language"),
            "",
            f"`{default}` is not a language code",
            "use a code like en, ro, pt_BR",
        )
        default = "en"
    langs = data.get("languages", [default])
    if not isinstance(langs, list) or not langs:
        ck.error(file, data.line_of("languages"), "", "`languages` should be a list of codes", "e.g. [en, ro, pt_BR]")
        langs = [default]
    good = []
    for i, code in enumerate(langs):
        if isinstance(code, str) and is_locale(code):
            good.append(code)
        else:
            line = langs.line_of(i) if isinstance(langs, LineList) else data.line_of("languages")
            ck.error(file, line, "", f"`{code}` is not a language code", "use a code like en, ro, pt_BR, zh_Hans")
    if default not in good:
        ck.error(
            file,
            data.line_of("languages"),
            "",
            f"the default language `{default}` is not offered",
            "add it to `languages`",
        )
    return default, tuple(dict.fromkeys(good)) or (default,)


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


def _bank_holidays(ck: Checker, file: str, data: LineDict) -> dict[str, Any]:
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


def _reviews(ck: Checker, file: str, data: LineDict, languages: tuple[str, ...]) -> Mapping[str, Review]:
    """`reviewed: {ro: {by: NAME, date: DATE, note: TEXT}}`; a machine-written language keeps both null."""
    reviews: dict[str, Review] = {}
    entries = ck.mapping(file, data.line_of("reviewed"), "", data["reviewed"], "`reviewed`")
    if entries is None:
        return MappingProxyType(reviews)
    for code, raw in entries.items():
        line = entries.line_of(code)
        if code not in languages:
            ck.error(
                file,
                line,
                "",
                f"`reviewed` names `{code}`, which `languages` does not offer",
                "use a code from `languages`",
            )
            continue
        entry = ck.mapping(file, line, "", raw, f"`reviewed: {code}`")
        if entry is None:
            continue
        ck.unknown_keys(file, "", entry, ("by", "date", "note"), f"`reviewed: {code}`")
        by, on, note = entry.get("by"), entry.get("date"), entry.get("note") or ""
        if (by is not None and not isinstance(by, str)) or (on is not None and not isinstance(on, date)):
            ck.error(
                file,
                line,
                "",
                f"`reviewed: {code}` needs `by:` a name and `date:` a date (YYYY-MM-DD), or null for both",
                "never record machine-written text as reviewed",
            )
            continue
        if (by is None) != (on is None):
            ck.error(
                file,
                line,
                "",
                f"`reviewed: {code}` has only one of `by` and `date`",
                "a review names who read it and on which day; leave both null until a person has",
            )
            continue
        reviews[str(code)] = Review(by=by, on=on, note=str(note))
    return MappingProxyType(reviews)


def _staff_hours(ck: Checker, file: str, data: LineDict) -> StaffHours:
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
