"""Statistics for staff, from the anonymous daily counters: no per-user row exists to show.

Waiting times are counted per day in coarse buckets (never per case), so a median and a 90th
percentile can be read off as "within N minutes" while no single wait is kept.

What is shown can't single anyone out either (bot/privacy/disclosure.py): counts under 5 show as "<5", a
cell that would give one away is hidden too, a language, step or trigger seen fewer than 5 times in
the period is left out, and so are waiting times when fewer than 5 people waited. Days older than
the store keeps daily are shown per month.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from bot.i18n.catalog import language_name
from bot.privacy.disclosure import HIDDEN, SMALL, THRESHOLD, Group, protect
from bot.store.base import DAILY_DAYS, Store, month_of, month_start
from bot.vocabulary import CRISIS_TRIGGER  # reported on its own line

# Upper bounds, in minutes, of the waiting-time buckets; a wait over the last one counts as OVER.
WAIT_BUCKETS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1080, 1440, 2880, 4320, 10080)
OVER = "more"
TOP_NODES = 10
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


def _small(f: Formatter, count: int) -> str:
    """A feedback count as shown: 1 to 4 as "<5", so one person's answer can't be picked out."""
    return SMALL if 0 < count < THRESHOLD else f.number(count)


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


# -- text for staff ---------------------------------------------------------------------------

Say = Callable[..., str]  # (message key, **values) -> the filled-in staff message


@dataclass(frozen=True, slots=True)
class Formatter:
    """Numbers, dates, languages and waits written for `locale` with babel."""

    locale: str

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def day(self, value: date) -> str:
        return format_skeleton("MMMEd", value, locale=self.locale)

    def month(self, value: date) -> str:
        return format_skeleton("yMMM", value, locale=self.locale)

    def date(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def wait(self, bucket: str) -> str:
        if bucket == OVER:
            return "> " + self.number(WAIT_BUCKETS[-1])
        return self.number(int(bucket))

    def counts(self, items: Mapping[str, int], label: Callable[[str], str] = str, limit: int | None = None) -> str:
        shown = list(items.items())[:limit]
        return ", ".join(f"{label(name)} {self.number(count)}" for name, count in shown)


# -- what may be shown ------------------------------------------------------------------------

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


def _waits_shown(counts: Tally) -> bool:
    # A percentile over fewer than 5 waits is close to one person's wait.
    return sum(counts.waits.values()) >= THRESHOLD


# -- text for staff ---------------------------------------------------------------------------


def render_text(stats: Stats, say: Say, locale: str) -> str:
    """The answer to /stats and `python -m bot stats`: a line per month and day, then totals and breakdowns."""
    f = Formatter(locale)
    table = shown(stats)
    lines = [
        say(
            "staff_stats_header",
            first=f.date(stats.first),
            last=f.date(stats.last),
            days=f.number((stats.last - stats.first).days + 1),
        )
    ]
    for row, counts in table.rows[:-1]:
        kind, moment = row
        label = f.month(moment) if kind == "month" else f.day(moment)
        lines.append(say("staff_stats_day", date=label, **table.count(row, counts, f.number)))
    total = stats.total
    lines.append("")
    lines.append(say("staff_stats_total", **table.count(TOTAL, total, f.number)))
    if total.median is None:
        lines.append(say("staff_stats_no_waiting"))
    elif _waits_shown(total):
        lines.append(say("staff_stats_waiting", median=f.wait(total.median), p90=f.wait(total.p90 or OVER)))
    none = say("staff_stats_none")
    lines.append(say("staff_stats_triggers", list=f.counts(table.visible(TOTAL, "trigger", total.triggers)) or none))
    lines.append(
        say(
            "staff_stats_languages",
            list=f.counts(table.visible(TOTAL, "language", total.languages), language_name) or none,
        )
    )
    lines.append(
        say(
            "staff_stats_nodes",
            list=f.counts(table.visible(TOTAL, "node", total.nodes), _node_label, TOP_NODES) or none,
        )
    )
    if total.feedback:
        answers = ", ".join(
            f"{_node_label(page)} " + "/".join(_small(f, counts.get(a, 0)) for a in ("yes", "no", "missing"))
            for page, counts in total.feedback.items()
        )
        lines.append(say("staff_stats_feedback", list=answers))
    return "\n".join(lines)


def _node_label(node_id: str) -> str:
    return " › ".join(node_id.split(".", 1))


# -- CSV --------------------------------------------------------------------------------------

FIXED_COLUMNS = (
    "date",
    "conversations_started",
    "handoffs_requested",
    "handoffs_claimed",
    "wait_median_minutes",
    "wait_p90_minutes",
    "crisis_triggers",
)


def render_csv(stats: Stats) -> str:
    """One row per month and day: fixed columns, then `trigger:ID`, `language:CODE` and `node:ID` columns
    for those seen at least 5 times in the period; small counts as "<5", cells that would give one away "5+"."""
    table = shown(stats)
    extra: dict[str, None] = {}
    for prefix, attribute in BREAKDOWNS:
        for name in sorted(table.visible(TOTAL, prefix, getattr(stats.total, attribute))):
            extra[f"{prefix}:{name}"] = None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*FIXED_COLUMNS, *extra))
    for row, counts in table.rows[:-1]:
        kind, moment = row
        waits = _waits_shown(counts)
        shown_counts = table.count(row, counts)
        line: list[object] = [
            moment.strftime("%Y-%m") if kind == "month" else moment.isoformat(),
            *(shown_counts[name] for name in COUNTS[:3]),
            _csv_wait(counts.median) if waits or counts.median is None else HIDDEN,
            _csv_wait(counts.p90) if waits or counts.p90 is None else HIDDEN,
            shown_counts["crisis"],
        ]
        for column in extra:
            prefix, name = column.split(":", 1)
            line.append(table.cell(row, (prefix, name), counts))
        writer.writerow(line)
    return out.getvalue()


def _csv_wait(bucket: str | None) -> str:
    if bucket is None:
        return ""
    return f">{WAIT_BUCKETS[-1]}" if bucket == OVER else bucket
