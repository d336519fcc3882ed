"""The console chat as a person would use it: a real subprocess, scripted stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FLOWS


def run_bot(args: list[str], stdin: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_SECRET_FILE"] = str(tmp_path / "secret")
    # Run this checkout's code, not whichever copy of the package the venv has installed.
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
        env=env,
    )


def test_scripted_walk_reaches_pep_signposting_and_exits_cleanly(tmp_path: Path) -> None:
    result = run_bot(
        ["chat", "--db", str(tmp_path / "bot.sqlite3"), "--flows", str(FLOWS)],
        "1\n2\n/back\nI was attacked\n/quit\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Hi, I can help you find health services" in out
    assert "  1. Testing and sexual health" in out
    assert "PEP is medicine that can stop HIV" in out
    assert "☎ 111" in out and "NHS 111" in out  # the PEP page shows 111 (and NHS 24 in Scotland)
    assert "Call 999" in out
    assert result.stderr == ""
    assert (tmp_path / "bot.sqlite3").exists()


def test_console_walk_is_stored_under_a_pseudonymous_key_only(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "bot.sqlite3"
    result = run_bot(["chat", "--db", str(db), "--flows", str(FLOWS)], "2\n", tmp_path)
    assert result.returncode == 0, result.stderr
    rows = sqlite3.connect(db).execute("SELECT key, node, locale, back FROM sessions").fetchall()
    assert len(rows) == 1
    key, node, locale, back = rows[0]
    assert (node, locale, back) == ("advice.menu", "en", "main.welcome")
    assert isinstance(key, bytes) and len(key) == 32


def test_default_run_uses_bundled_flows_and_a_data_folder(tmp_path: Path) -> None:
    result = run_bot(["chat"], "/quit\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "bot.sqlite3").exists()


def test_missing_flows_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run_bot(["chat", "--flows", str(tmp_path / "nope")], "", tmp_path)
    assert result.returncode != 0
    assert "flows directory not found" in result.stderr and "Traceback" not in result.stderr


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    for path in FLOWS.glob("*.yaml"):
        (flows / path.name).write_text(path.read_text())
    (flows / "testing.yaml").write_text((FLOWS / "testing.yaml").read_text().replace("start: menu", "start: [menu"))
    result = run_bot(["chat", "--flows", str(flows)], "", tmp_path)
    assert result.returncode == 1
    assert "testing.yaml:3: invalid YAML" in result.stderr and "started on line 2" in result.stderr
    assert "Traceback" not in result.stderr
    check = run_bot(["check", str(flows)], "", tmp_path)
    # One error, not a cascade of links into the unreadable file.
    problem_lines = [line for line in check.stdout.splitlines() if ".yaml:" in line]
    assert check.returncode == 1 and len(problem_lines) == 1, check.stdout


def test_unwritable_database_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_bot(["chat", "--db", str(blocker / "bot.sqlite3")], "", tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_unoffered_language_is_a_clear_error(tmp_path: Path) -> None:
    result = run_bot(["chat", "--lang", "xx"], "", tmp_path)
    assert result.returncode == 2 and "language `xx` is not offered" in result.stderr


def test_check_passes_on_the_shipped_flows(tmp_path: Path) -> None:
    result = run_bot(["check", str(FLOWS)], "", tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("OK:")


def test_whole_handoff_journey_can_be_tried_in_the_console(tmp_path: Path) -> None:
    script = "/human\nhello\n/staff /alias Sam\n/staff Hi, I'm Sam\n/staff !note to self\n/staff /close\n1\n/quit\n"
    result = run_bot(["chat", "--db", str(tmp_path / "bot.sqlite3"), "--flows", str(FLOWS)], script, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[staff] topic #1 opened: Case " in out
    assert "[staff #1] user: hello" in out
    assert "Sam: Hi, I'm Sam" in out and "note to self" not in out.split("[staff #1] user: hello")[1].replace(
        "/staff !note to self", ""
    )
    assert "The chat with our team has ended." in out
    assert out.rstrip().endswith("6. Language")  # "1" after closing is the Main menu button


def test_staff_command_without_an_open_case_is_explained(tmp_path: Path) -> None:
    result = run_bot(["chat", "--db", str(tmp_path / "bot.sqlite3"), "--flows", str(FLOWS)], "/staff hello\n", tmp_path)
    assert "[staff] no open case" in result.stdout


def test_output_cut_short_by_a_pager_is_not_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    graph = subprocess.Popen(
        [sys.executable, "-m", "bot", "graph", "--flows", str(FLOWS)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert graph.stdout is not None and graph.stderr is not None
    graph.stdout.close()  # like `| head`, before anything was read: every write meets a closed pipe
    stderr = graph.stderr.read().decode()
    assert graph.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
