"""The benchmark's outputs: the table, the ratios and targets, the JSON file and the plot."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Row = Mapping[str, Any]
COLUMNS = (
    ("bot", "bot", "{}"),
    ("mode", "mode", "{}"),
    ("sessions", "sessions", "{:,}"),
    ("updates/s", "updates_per_s", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.2f}"),
    ("p99 ms", "p99_ms", "{:.2f}"),
    ("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    ("start ms", "start_ms", "{:,.0f}"),
    ("pickle write ms", "persist_ms", "{:,.1f}"),
    ("updates/s with writes", "with_writes_per_s", "{:,.0f}"),
)
FLAT = 1.5  # "flat": the largest value at most this many times the smallest


def machine() -> dict[str, Any]:
    """CPU model, cores and Python: where the numbers were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}


def _cell(row: Row, key: str, pattern: str) -> str:
    value = row.get(key)
    return "—" if value is None else pattern.format(value)


def table(rows: Iterable[Row], markdown: bool = False) -> str:
    """Rows as an aligned text table, or as a Markdown table."""
    body = [[_cell(row, key, pattern) for _, key, pattern in COLUMNS] for row in rows]
    heads = [head for head, _, _ in COLUMNS]
    if markdown:
        lines = [
            "| " + " | ".join(heads) + " |",
            "|" + "|".join(" --- " if i < 2 else " ---: " for i in range(len(heads))) + "|",
        ]
        return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])
    widths = [max(len(head), *(len(cells[i]) for cells in body)) if body else len(head) for i, head in enumerate(heads)]
    lines = [
        "  ".join(
            head.ljust(w) if i < 2 else head.rjust(w) for i, (head, w) in enumerate(zip(heads, widths, strict=False))
        )
    ]
    for cells in body:
        lines.append(
            "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False)))
        )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Target:
    """One of issue 8's targets for our bot, and whether this run met it."""

    name: str
    met: bool
    detail: str


def _pick(rows: Iterable[Row], bot: str, mode: str) -> dict[int, Row]:
    return {int(r["sessions"]): r for r in rows if r["bot"] == bot and r["mode"] == mode}


def _spread(values: list[float]) -> float:
    positive = [v for v in values if v > 0]
    return max(positive) / min(positive) if positive else 0.0


def ratios(rows: list[Row]) -> dict[str, Any]:
    """Ours against the baseline per size and mode, and how ours grows from the smallest size to the largest."""
    out: dict[str, Any] = {"ours_over_baseline_updates_per_s": {}, "ours_over_baseline_with_writes": {}, "growth": {}}
    for mode in ("direct", "http", "sustained"):
        ours, base = _pick(rows, "ours", mode), _pick(rows, "baseline", mode)
        shared = sorted(set(ours) & set(base))
        out["ours_over_baseline_updates_per_s"][mode] = {
            str(n): round(ours[n]["updates_per_s"] / base[n]["updates_per_s"], 2)
            for n in shared
            if base[n]["updates_per_s"]
        }
        out["ours_over_baseline_with_writes"][mode] = {
            str(n): round(ours[n]["with_writes_per_s"] / base[n]["with_writes_per_s"], 2)
            for n in shared
            if base[n].get("with_writes_per_s")
        }
        for bot, picked in (("ours", ours), ("baseline", base)):
            sizes = sorted(picked)
            if len(sizes) < 2 or mode == "sustained":
                continue
            first, last = picked[sizes[0]], picked[sizes[-1]]
            out["growth"][f"{bot} {mode} {sizes[0]:,}→{sizes[-1]:,}"] = {
                key: round(last[key] / first[key], 2) if first[key] else None
                for key in ("mean_ms", "p99_ms", "peak_rss_mb", "start_ms")
            }
    return out


def targets(rows: list[Row]) -> list[Target]:
    """Issue 8's targets, checked on this run's rows."""
    found = []
    for mode, label in (
        ("sustained", "updates/s at least the baseline's at every size, sustained past its persistence interval"),
        ("direct", "updates/s before the baseline's first persistence run"),
        ("http", "updates/s before the baseline's first persistence run"),
    ):
        ours, base = _pick(rows, "ours", mode), _pick(rows, "baseline", mode)
        shared = sorted(set(ours) & set(base))
        if shared:
            pairs = [f"{n:,}: {ours[n]['updates_per_s']:,.0f} vs {base[n]['updates_per_s']:,.0f}" for n in shared]
            met = all(ours[n]["updates_per_s"] >= base[n]["updates_per_s"] for n in shared)
            found.append(Target(f"{label} ({mode})", met, "; ".join(pairs)))
    direct = _pick(rows, "ours", "direct")
    if direct:
        worst = max(direct.values(), key=lambda r: r["p99_ms"])
        found.append(
            Target(
                "p99 bot-side time per update < 5 ms (direct)",
                worst["p99_ms"] < 5.0,
                f"worst {worst['p99_ms']:.2f} ms at {worst['sessions']:,} sessions",
            )
        )
        for label, key in (("cost per update", "mean_ms"), ("peak RSS", "peak_rss_mb"), ("start-up time", "start_ms")):
            spread = _spread([r[key] for r in direct.values()])
            found.append(
                Target(
                    f"{label} flat across sizes (within {FLAT}×, direct)",
                    spread <= FLAT,
                    f"largest/smallest = {spread:.2f} over {', '.join(f'{n:,}' for n in sorted(direct))}",
                )
            )
    return found


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot(path: Path, rows: list[Row]) -> bool:
    """Cost per update, peak RSS and start-up against stored sessions (log x); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    panels = (
        (
            "cost per update, ms (1000 / updates/s, log)",
            lambda r: 1000 / r["updates_per_s"] if r["updates_per_s"] else None,
        ),
        ("peak RSS, MB", lambda r: r["peak_rss_mb"]),
        ("time to start, ms", lambda r: r["start_ms"]),
    )
    for axis, (title, value) in zip(axes, panels, strict=False):
        modes = (
            (("direct", "-o"), ("http", "--s"), ("sustained", ":^"))
            if title.startswith("cost")
            else (("direct", "-o"), ("http", "--s"))
        )
        for bot, colour in (("ours", "tab:blue"), ("baseline", "tab:orange")):
            for mode, style in modes:
                picked = _pick(rows, bot, mode)
                sizes = sorted(picked)
                points = [(n, value(picked[n])) for n in sizes if value(picked[n]) is not None]
                if points:
                    axis.plot(
                        [p[0] for p in points], [p[1] for p in points], style, color=colour, label=f"{bot}, {mode}"
                    )
        axis.set_xscale("log")
        axis.set_xlabel("stored sessions")
        axis.set_title(title)
        if title.startswith("cost"):
            axis.set_yscale("log")  # a stalled baseline is far above the rest
        else:
            axis.set_ylim(bottom=0)
        axis.grid(True, which="both", alpha=0.3)
    _plot_timeline(axes[3], rows)
    axes[0].legend(fontsize="small", loc="center right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _plot_timeline(axis: Any, rows: list[Row]) -> None:
    """Sustained mode: updates answered per second through the window, one line per bot and size."""
    styles = ("-", "--", "-.", ":")
    for bot, colour in (("ours", "tab:blue"), ("baseline", "tab:orange")):
        picked = _pick(rows, bot, "sustained")
        for style, n in zip(styles, sorted(picked), strict=False):
            detail = picked[n]["detail"]
            bucket, counts = detail["bucket_s"], detail["answered_per_bucket"]
            # The last bucket ends with the window, so it may be a sliver of the others: left out then.
            last = detail["window_s"] - bucket * (len(counts) - 1)
            widths = [bucket] * (len(counts) - 1) + ([last] if last >= bucket / 2 else [])
            starts = [bucket * i for i in range(len(widths))]
            axis.plot(
                [s + w / 2 for s, w in zip(starts, widths, strict=False)],
                [c / w for c, w in zip(counts, widths, strict=False)],
                style,
                color=colour,
                label=f"{bot}, {n:,}",
            )
    axis.set_title("sustained: answered per second")
    axis.set_xlabel("seconds since start")
    axis.set_ylim(bottom=0)
    axis.grid(True, alpha=0.3)
    if axis.lines:
        axis.legend(fontsize="small")
