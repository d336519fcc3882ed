"""Statistics for staff, from the anonymous daily counters: no per-user row exists to show.

Waiting times are counted per day in coarse buckets (never per case), so a median and a 90th
percentile can be read off as "within N minutes" while no single wait is kept.
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

from bot.i18n import language_name

# Upper bounds, in minutes, of the waiting-time buckets; a wait over the last one counts as OVER.
WAIT_BUCKETS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1080, 1440, 2880, 4320, 10080)
OVER = "more"
CRISIS_TRIGGER = "crisis"  # reported on its own line; the same id bot.handoff flags to staff
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


def _feedback(counts: Counter[str]) -> dict[str, dict[str, int]]:
    pages: dict[str, dict[str, int]] = {}
    for name, count in counts.most_common():
        page, _, answer = name.rpartition(":")
        pages.setdefault(page, {}).setdefault(answer, 0)
        pages[page][answer] += count
    return pages


@dataclass(frozen=True, slots=True)
class Stats:
    """A period of days, each day's tally and the total."""

    first: date
    last: date
    days: tuple[tuple[date, Tally], ...]
    total: Tally


def summarise(rows: Iterable[tuple[int, str, str, int]], first: date, last: date) -> Stats:
    """Stats from store counter rows (day ordinal, kind, name, count) for every day first..last."""
    per_day: dict[int, list[tuple[str, str, int]]] = {}
    everything: list[tuple[str, str, int]] = []
    for day, kind, name, count in rows:
        per_day.setdefault(day, []).append((kind, name, count))
        everything.append((kind, name, count))
    days = []
    current = first
    while current <= last:
        days.append((current, tally(per_day.get(current.toordinal(), []))))
        current += timedelta(days=1)
    return Stats(first, last, tuple(days), tally(everything))


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

    def date(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def wait(self, bucket: str) -> str:
        if bucket == OVER:
            return "> " + self.number(WAIT_BUCKETS[-1])
        return self.number(int(bucket))

    def counts(self, items: Mapping[str, int], label: Callable[[str], str] = str, limit: int | None = None) -> str:
        shown = list(items.items())[:limit]
        return ", ".join(f"{label(name)} {self.number(count)}" for name, count in shown)


def render_text(stats: Stats, say: Say, locale: str) -> str:
    """The answer to /stats and `python -m bot stats`: a line per day, then totals and breakdowns."""
    f = Formatter(locale)
    lines = [say("staff_stats_header", first=f.date(stats.first), last=f.date(stats.last), days=f.number(len(stats.days)))]
    for day, counts in stats.days:
        lines.append(say("staff_stats_day", date=f.day(day), started=f.number(counts.started),
                         requested=f.number(counts.requested), claimed=f.number(counts.claimed),
                         crisis=f.number(counts.crisis)))
    total = stats.total
    lines.append("")
    lines.append(say("staff_stats_total", started=f.number(total.started), requested=f.number(total.requested),
                     claimed=f.number(total.claimed), crisis=f.number(total.crisis)))
    if total.median is None:
        lines.append(say("staff_stats_no_waiting"))
    else:
        lines.append(say("staff_stats_waiting", median=f.wait(total.median), p90=f.wait(total.p90 or OVER)))
    none = say("staff_stats_none")
    lines.append(say("staff_stats_triggers", list=f.counts(total.triggers) or none))
    lines.append(say("staff_stats_languages", list=f.counts(total.languages, language_name) or none))
    lines.append(say("staff_stats_nodes", list=f.counts(total.nodes, _node_label, TOP_NODES) or none))
    if total.feedback:
        answers = ", ".join(
            f"{_node_label(page)} " + "/".join(f.number(counts.get(a, 0)) for a in ("yes", "no", "missing"))
            for page, counts in total.feedback.items()
        )
        lines.append(say("staff_stats_feedback", list=answers))
    return "\n".join(lines)


def _node_label(node_id: str) -> str:
    return " › ".join(node_id.split(".", 1))


# -- CSV --------------------------------------------------------------------------------------

FIXED_COLUMNS = (
    "date", "conversations_started", "handoffs_requested", "handoffs_claimed",
    "wait_median_minutes", "wait_p90_minutes", "crisis_triggers",
)


def render_csv(stats: Stats) -> str:
    """One row per day: fixed columns, then `trigger:ID`, `language:CODE` and `node:ID` columns."""
    extra: dict[str, None] = {}
    for prefix, attribute in (("trigger", "triggers"), ("language", "languages"), ("node", "nodes")):
        for name in sorted(getattr(stats.total, attribute)):
            extra[f"{prefix}:{name}"] = None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*FIXED_COLUMNS, *extra))
    for day, counts in stats.days:
        row: list[object] = [
            day.isoformat(), counts.started, counts.requested, counts.claimed,
            _csv_wait(counts.median), _csv_wait(counts.p90), counts.crisis,
        ]
        for column in extra:
            prefix, name = column.split(":", 1)
            row.append({"trigger": counts.triggers, "language": counts.languages, "node": counts.nodes}[prefix].get(name, 0))
        writer.writerow(row)
    return out.getvalue()


def _csv_wait(bucket: str | None) -> str:
    if bucket is None:
        return ""
    return f">{WAIT_BUCKETS[-1]}" if bucket == OVER else bucket
