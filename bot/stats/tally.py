"""Statistics for staff, from the anonymous daily counters: no per-user row exists to show.

Waiting times are counted per day in coarse buckets (never per case), so a median and a 90th
percentile can be read off as "within N minutes" while no single wait is kept. Days older than
the store keeps daily are summed per month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.store.base import DAILY_DAYS, Store, month_of, month_start
from bot.vocabulary import CRISIS_TRIGGER  # reported on its own line

# Upper bounds, in minutes, of the waiting-time buckets; a wait over the last one counts as OVER.
WAIT_BUCKETS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1080, 1440, 2880, 4320, 10080)
OVER = "more"
MAX_DAYS = 366


def wait_bucket(minutes: int) -> str:
    """The counter name for a wait: the smallest bucket bound at or above it."""
    for bound in WAIT_BUCKETS:
        if minutes <= bound:
            return str(bound)
    return OVER


def claim_events(waited_minutes: int) -> tuple[tuple[str, str], ...]:
    """The counter events for one claimed case."""
    return (("handoff", "claimed"), ("wait", wait_bucket(max(0, waited_minutes))))


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts for one day or for a whole period."""

    started: int = 0
    requested: int = 0
    claimed: int = 0
    crisis: int = 0
    triggers: Mapping[str, int] = field(default_factory=dict)  # other than crisis
    languages: Mapping[str, int] = field(default_factory=dict)
    nodes: Mapping[str, int] = field(default_factory=dict)
    waits: Mapping[str, int] = field(default_factory=dict)  # bucket name -> count
    # "Did this help?" per page (or "chat"): answer -> count, answers yes, no, missing
    feedback: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def wait_percentile(self, fraction: float) -> str | None:
        """The bucket bound within which `fraction` of the counted waits fall, or None without waits."""
        total = sum(self.waits.values())
        if not total:
            return None
        needed = fraction * total
        seen = 0
        for name in (*map(str, WAIT_BUCKETS), OVER):
            seen += self.waits.get(name, 0)
            if seen >= needed:
                return name
        return OVER

    @property
    def median(self) -> str | None:
        return self.wait_percentile(0.5)

    @property
    def p90(self) -> str | None:
        return self.wait_percentile(0.9)


def tally(rows: Iterable[tuple[str, str, int]]) -> Tally:
    """Add up (kind, name, count) counter rows."""
    kinds: dict[str, Counter[str]] = {}
    for kind, name, count in rows:
        kinds.setdefault(kind, Counter())[name] += count
    triggers = kinds.get("trigger", Counter())
    crisis = triggers.pop(CRISIS_TRIGGER, 0)
    return Tally(
        started=kinds.get("conversation", Counter())["started"],
        requested=kinds.get("handoff", Counter())["requested"],
        claimed=kinds.get("handoff", Counter())["claimed"],
        crisis=crisis,
        triggers=dict(triggers.most_common()),
        languages=dict(kinds.get("language", Counter()).most_common()),
        nodes=dict(kinds.get("node", Counter()).most_common()),
        waits=dict(kinds.get("wait", Counter())),
        feedback=_feedback(kinds.get("feedback", Counter())),
    )


def _feedback(counts: Counter[str]) -> dict[str, dict[str, int]]:
    pages: dict[str, dict[str, int]] = {}
    for name, count in counts.most_common():
        page, _, answer = name.rpartition(":")
        pages.setdefault(page, {}).setdefault(answer, 0)
        pages[page][answer] += count
    return pages


@dataclass(frozen=True, slots=True)
class Stats:
    """A period: whole months rolled up (oldest first), then each day's tally, and the total."""

    first: date
    last: date
    days: tuple[tuple[date, Tally], ...]
    total: Tally
    months: tuple[tuple[date, Tally], ...] = ()  # keyed by the month's first day


def summarise(
    rows: Iterable[tuple[int, str, str, int]],
    first: date,
    last: date,
    monthly: Iterable[tuple[int, str, str, int]] = (),
    daily_from: date | None = None,
) -> Stats:
    """Stats from store counter rows (day ordinal, kind, name, count) for every day first..last.

    `monthly` rows (month number, kind, name, count) are shown per month; so are daily rows before
    `daily_from` (the purge has yet to roll them up).
    """
    daily_from = daily_from or first
    per_day: dict[int, list[tuple[str, str, int]]] = {}
    per_month: dict[int, list[tuple[str, str, int]]] = {}
    everything: list[tuple[str, str, int]] = []
    for day, kind, name, count in rows:
        if day < daily_from.toordinal():
            per_month.setdefault(month_of(day), []).append((kind, name, count))
        else:
            per_day.setdefault(day, []).append((kind, name, count))
        everything.append((kind, name, count))
    for month, kind, name, count in monthly:
        per_month.setdefault(month, []).append((kind, name, count))
        everything.append((kind, name, count))
    if first < daily_from:  # every month before the daily ones, a quiet one too, as days are
        for month in range(month_of(first.toordinal()), month_of(daily_from.toordinal() - 1) + 1):
            per_month.setdefault(month, [])
    days = []
    current = max(first, daily_from)
    while current <= last:
        days.append((current, tally(per_day.get(current.toordinal(), []))))
        current += timedelta(days=1)
    months = tuple((month_start(month), tally(per_month[month])) for month in sorted(per_month))
    start = min(first, months[0][0]) if months else first
    return Stats(start, last, tuple(days), tally(everything), months)


async def load(store: Store, today: date, days: int) -> Stats:
    """The last `days` days (today included): daily where the store still keeps days, else by month."""
    first, last = period(today, days)
    daily_from = today - timedelta(days=DAILY_DAYS)
    monthly: list[tuple[int, str, str, int]] = []
    if first < daily_from:
        monthly = await store.monthly_counters(month_of(first.toordinal()), month_of(daily_from.toordinal()))
    rows = await store.counters(first.toordinal(), last.toordinal())
    return summarise(rows, first, last, monthly, max(first, daily_from))


def period(today: date, days: int) -> tuple[date, date]:
    """The last `days` days, today included."""
    return today - timedelta(days=days - 1), today
