"""`flows/settings.yaml` as the bot uses it: the `Settings` dataclass and each language's `Review`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType

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
