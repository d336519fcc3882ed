"""The statistics written out for staff: as text for /stats and `python -m bot stats`, and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal

from bot.i18n.catalog import language_name
from bot.privacy.disclosure import HIDDEN, SMALL, THRESHOLD
from bot.stats.shown import BREAKDOWNS, COUNTS, TOTAL, shown, waits_shown
from bot.stats.tally import OVER, WAIT_BUCKETS, Stats

TOP_NODES = 10

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


def _small(f: Formatter, count: int) -> str:
    """A feedback count as shown: 1 to 4 as "<5", so one person's answer can't be picked out."""
    return SMALL if 0 < count < THRESHOLD else f.number(count)


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
    elif waits_shown(total):
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
        waits = waits_shown(counts)
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
