"""The benchmark still runs: `python -m bench --quick` end to end, checked for shape, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as bench_main
from bench.walk import plan
from bot.flows.content import load_content
from tests.conftest import FLOWS, REPO

pytestmark = pytest.mark.bench

ROW_KEYS = {
    "bot",
    "mode",
    "sessions",
    "updates_per_s",
    "p50_ms",
    "p99_ms",
    "mean_ms",
    "peak_rss_mb",
    "start_ms",
    "persist_ms",
    "writes_per_update",
    "with_writes_per_s",
    "errors",
    "detail",
}


def test_quick_benchmark_writes_a_result_for_every_bot_mode_and_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert report["quick"] is True and report["command"] == "python -m bench --quick"
    assert {"cpu", "cores", "python"} <= set(report["machine"])
    assert [step["kind"] for step in report["walk"]] == ["command", "press", "press", "press", "text", "command"]
    plan = report["plan"]
    modes = ("direct", "http", "sustained")
    expected = {(bot, mode, size) for size in plan["sizes"] for bot in ("ours", "baseline") for mode in modes}
    expected |= {("ours", mode, size) for size in plan["ours_only"] for mode in modes}
    rows = report["results"]
    assert {(r["bot"], r["mode"], r["sessions"]) for r in rows} == expected
    for row in rows:
        assert set(row) >= ROW_KEYS and row["errors"] == 0
        assert row["updates_per_s"] > 0 and row["peak_rss_mb"] > 0
        if row["mode"] == "sustained":
            # The window runs past the baseline's (shortened) persistence interval, answers counted through it.
            detail = row["detail"]
            assert (
                detail["window_s"] > plan["persist_interval_s"]
                and sum(detail["answered_per_bucket"]) == detail["answered"]
            )
            assert row["start_ms"] is None and row["with_writes_per_s"] == row["updates_per_s"]
        else:
            assert row["start_ms"] > 0 and (row["persist_ms"] is None) == (row["bot"] == "ours")
    names = {t["name"].split(" (")[0] for t in report["targets"]}
    assert "p99 bot-side time per update < 5 ms" in names
    assert "updates/s at least the baseline's at every size, sustained past its persistence interval" in names
    assert "bot" in done.stdout and "updates/s" in done.stdout  # the table was printed


async def test_a_worker_that_dies_mid_window_fails_the_sustained_run_with_its_last_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def dying_worker(*args: Any) -> list[str]:
        return [
            sys.executable,
            "-c",
            "import sys, time; print('READY', flush=True); time.sleep(0.5); "
            "print('worker crashed', file=sys.stderr); sys.exit(3)",
        ]

    monkeypatch.setattr(bench_main, "_worker_args", dying_worker)
    content = (FLOWS, REPO / "locales")
    with pytest.raises(
        bench_main.BenchError, match="ours sustained at 10: the worker stopped during the window: worker crashed"
    ):
        await bench_main._run_sustained(
            "ours",
            tmp_path / "state",
            10,
            plan(load_content(*content)),
            replace(bench_main.QUICK, sustain_s=2.0),
            content,
        )


def test_quick_replicas_benchmark_runs_sqlite_and_one_and_two_postgresql_replicas() -> None:
    from tests.pg import server_bin

    if server_bin() is None:
        pytest.skip("no PostgreSQL server is installed")
    done = subprocess.run(
        [sys.executable, "-m", "bench.replicas", "--local", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    cells = [[cell.strip() for cell in row] for row in rows[1:]]  # after the header
    assert [(store, replicas, updates) for store, replicas, _, updates, *_ in cells] == [
        ("sqlite", "1", "32"),
        ("postgres", "1", "32"),
        ("postgres", "2", "32"),
    ]
    assert all(float(row[4].replace(",", "")) > 0 for row in cells)
