"""`python -m bot run`, `stats` and `doctor` on PostgreSQL, chosen by BOT_DATABASE_URL, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.ops.doctor.local_checks import database_findings
from bot.store import open_store
from tests.conftest import FLOWS, REPO
from tests.fakebotapi import FakeBotAPI
from tests.pg import Cluster
from tests.test_telegram_e2e import STAFF, USER

pytestmark = pytest.mark.e2e


def operator_env(tmp_path: Path, url: str, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update(
        BOT_DATABASE_URL=url,
        BOT_SECRET_FILE=str(tmp_path / "secret"),
        BOT_FLOWS=str(FLOWS),
        BOT_LOCALES=str(REPO / "locales"),
        BOT_HOME=str(tmp_path / "home"),
        PYTHONPATH=str(REPO),
        **more,
    )
    return env


async def test_python_m_bot_run_keeps_its_sessions_in_postgresql_and_stats_reads_them(
    tmp_path: Path, pg_url: str
) -> None:
    async with FakeBotAPI() as api:
        env = operator_env(
            tmp_path, pg_url, TELEGRAM_BOT_TOKEN=api.token, STAFF_CHAT_ID=str(STAFF), TELEGRAM_API_URL=api.api_url
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?", timeout=30)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        log = stderr.decode()
    assert process.returncode == 0, log
    assert not (tmp_path / "home" / "bot.sqlite3").exists(), "the bot made an SQLite file although told PostgreSQL"
    assert str(USER) not in log and api.token not in log
    store = await open_store(pg_url)
    try:
        assert await store.session_count() == 1
    finally:
        await store.close()
    stats = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--days", "2", "--csv"],
        cwd=tmp_path,
        env=operator_env(tmp_path, pg_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stats.returncode == 0, stats.stderr
    today = [line for line in stats.stdout.splitlines() if line.startswith(date.today().isoformat())]
    assert today, stats.stdout


async def test_doctor_says_the_postgresql_database_answers_and_its_logging_is_private(
    pg_cluster: Cluster, pg_url: str
) -> None:
    await (await open_store(pg_url)).close()
    (found,) = await database_findings({"BOT_DATABASE_URL": pg_url})
    assert found.ok and "answers with this code's schema" in found.text
    nowhere = f"postgresql://bot:hunter2@/nowhere?host={pg_cluster.socket_dir}&port=1"
    (unreachable,) = await database_findings({"BOT_DATABASE_URL": nowhere})
    assert not unreachable.ok and "check BOT_DATABASE_URL" in unreachable.text and "hunter2" not in unreachable.text
    assert await database_findings({}) == []  # SQLite: the data folder's checks cover it
