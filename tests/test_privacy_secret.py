"""The secret on the command line: apart from the data for `run`, never silently replaced, never weak."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main as cli
from tests.conftest import FLOWS, REPO

STRONG = "q8Zt-3vKpX_m0RwL7yNcB2hJfD9sGaE4uT6iOeWk1xY"


def chat(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    typed: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """`python -m bot chat` in ./data (the console's default), with `typed` as the person's input."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    code = cli.main(["chat", "--flows", str(FLOWS), *extra], {"BOT_LOCALES": str(REPO / "locales"), **(env or {})})
    return code, capsys.readouterr().err


def session_keys(db: Path) -> set[bytes]:
    reader = sqlite3.connect(db)
    try:
        return {bytes(key) for (key,) in reader.execute("SELECT key FROM sessions")}
    finally:
        reader.close()


def test_the_console_makes_its_secret_in_data_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = chat(tmp_path, monkeypatch, capsys, "2\n")
    assert code == 0 and "note: made a new secret in" in err and "docs/privacy.md" in err
    assert (tmp_path / "data" / "secret").stat().st_mode & 0o777 == 0o600
    code, err = chat(tmp_path, monkeypatch, capsys, "2\n")
    assert code == 0 and err == ""


def test_a_lost_secret_is_not_silently_replaced_and_new_secret_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert chat(tmp_path, monkeypatch, capsys, "2\n")[0] == 0
    db, secret = tmp_path / "data" / "bot.sqlite3", tmp_path / "data" / "secret"
    (old_session,) = session_keys(db)
    secret.unlink()  # lost: a wrong folder, a restore without it
    code, err = chat(tmp_path, monkeypatch, capsys, "2\n")
    assert code == 2
    assert (
        "error: the secret for this database is missing: restore it from your backup, or start over with --new-secret"
        in err
    )
    assert not secret.exists()  # the one made for the refused start is not left to be taken for the real one
    assert chat(tmp_path, monkeypatch, capsys, "2\n")[0] == 2  # still refused the second time
    code, err = chat(tmp_path, monkeypatch, capsys, "", "--new-secret")
    assert code == 0 and "started over" in err
    assert old_session not in session_keys(db) and secret.exists()  # only the console's own new session is left
    assert chat(tmp_path, monkeypatch, capsys, "2\n")[0] == 0  # the new secret now belongs to the database


def test_a_different_secret_for_a_used_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert chat(tmp_path, monkeypatch, capsys, "2\n")[0] == 0
    code, err = chat(tmp_path, monkeypatch, capsys, "2\n", env={"BOT_SECRET": STRONG})
    assert code == 2 and "BOT_SECRET is not the one this database was used with" in err
    assert STRONG not in err


def run_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot run` as an operator starts it (it stops before reaching Telegram in these tests)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "CREDENTIALS_"))}
    base.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN="123456:ABCdef_ghi-JKLmnop",
        STAFF_CHAT_ID="-1001234567890",
        TELEGRAM_API_URL="http://127.0.0.1:9",
        BOT_FLOWS=str(FLOWS),
        BOT_LOCALES=str(REPO / "locales"),
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=base,
        check=False,
    )


def test_run_wants_the_secret_apart_from_the_data_and_says_how(tmp_path: Path) -> None:
    result = run_bot(tmp_path)
    assert result.returncode == 2
    assert "error: no secret is set for `run`" in result.stderr and "BOT_SECRET_FILE" in result.stderr
    assert "secrets.token_urlsafe(32)" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "secret").exists()


def test_run_refuses_a_secret_file_others_can_read_and_a_weak_secret(tmp_path: Path) -> None:
    loose = tmp_path / "secret"
    loose.write_text(STRONG)
    loose.chmod(0o644)
    result = run_bot(tmp_path, BOT_SECRET_FILE=str(loose))
    assert result.returncode == 2 and f"run `chmod 600 {loose}`" in result.stderr
    result = run_bot(tmp_path, BOT_SECRET="Xk9#q2")
    assert result.returncode == 2 and "too short" in result.stderr and "openssl rand -base64 32" in result.stderr
    result = run_bot(tmp_path, BOT_SECRET="aaaaaaaaaaaaaaaa")
    assert result.returncode == 2 and "too easy to guess" in result.stderr
    assert "aaaaaaaa" not in result.stderr


def test_an_unreachable_api_url_is_named_without_its_password(tmp_path: Path) -> None:
    result = run_bot(tmp_path, BOT_SECRET=STRONG, TELEGRAM_API_URL="http://charity:hunter2pass@127.0.0.1:9")
    assert result.returncode == 2, result.stderr
    assert "cannot reach the Bot API at http://<credentials>@127.0.0.1:9" in result.stderr
    assert "hunter2pass" not in result.stderr + result.stdout and "charity" not in result.stderr


def test_run_with_the_secret_beside_the_database_warns_to_move_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret").write_text(STRONG)
    (data / "secret").chmod(0o600)
    result = run_bot(tmp_path)  # an older set-up: ./data/secret, found by default
    assert "warning: the secret file" in result.stderr and "is in the same folder as the database" in result.stderr
    assert "cannot reach the Bot API" in result.stderr  # it did start
