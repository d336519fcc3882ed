"""`python -m bot run` serving Signal alone, and the console's Signal style, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import REPO
from tests.fakesignal import FakeSignalCli

USER = "0b7e4f1c-9d2a-4e8b-a5c3-6f1d2e3b4a59"


async def test_run_serves_signal_alone_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    fake = await FakeSignalCli(folder / "s.sock").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "STAFF_", "SIGNAL_"))}
    env.update(
        SIGNAL_SOCKET=str(fake.path),
        SIGNAL_ACCOUNT="+447700900000",
        BOT_SECRET_FILE=str(tmp_path / "secret"),
        BOT_DB=str(tmp_path / "bot.sqlite3"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--no-watch",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_for(lambda: fake.subscriptions == 1, timeout=30)
        fake.user_sends(USER, "hello")
        await fake.wait_for_text(USER, "Reply with a number:")
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()
        assert b"starting (Signal only)" in stderr and b"stopped cleanly" in stderr
        assert USER.encode() not in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_run_refuses_a_signal_account_that_is_not_a_number_without_echoing_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "STAFF_", "SIGNAL_"))}
    env.update(
        SIGNAL_SOCKET="/run/signal-cli/socket", SIGNAL_ACCOUNT="07700 900123", BOT_SECRET_FILE=str(tmp_path / "s")
    )

    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], check=False, capture_output=True, text=True, timeout=60, cwd=REPO, env=env
    )
    assert result.returncode == 2
    assert "SIGNAL_ACCOUNT must be the bot's number in international form" in result.stderr
    assert "900123" not in result.stderr


def test_console_signal_style_shows_numbered_text_without_buttons(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(BOT_SECRET_FILE=str(tmp_path / "secret"), PYTHONPATH=str(REPO))  # this checkout's code
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "chat",
            "--style",
            "signal",
            "--db",
            str(tmp_path / "bot.sqlite3"),
            "--flows",
            str(REPO / "flows"),
        ],
        check=False,
        input="1\n2\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "What can I help with?\n\nReply with a number:\n1. Testing and sexual health\n" in out
    assert "Places that can help:\n\n" in out  # cards as plain text under their title
    assert "  1. " not in out  # the plain console's indented choices are not used


async def test_run_serves_telegram_and_signal_from_one_process(tmp_path: Path) -> None:
    from tests.fakebotapi import FakeBotAPI
    from tests.test_telegram_e2e import STAFF

    telegram_user = 987654321
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    fake = await FakeSignalCli(folder / "s.sock").start()
    async with FakeBotAPI() as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "STAFF_", "SIGNAL_"))}
        env.update(
            SIGNAL_SOCKET=str(fake.path),
            SIGNAL_ACCOUNT="+447700900000",
            TELEGRAM_BOT_TOKEN=api.token,
            STAFF_CHAT_ID=str(STAFF),
            TELEGRAM_API_URL=api.api_url,
            BOT_SECRET_FILE=str(tmp_path / "secret"),
            BOT_DB=str(tmp_path / "bot.sqlite3"),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--no-watch",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_for(lambda: fake.subscriptions == 1, timeout=30)
            fake.user_sends(USER, "hello")
            api.user_sends_text(telegram_user, "/start")
            await fake.wait_for_text(USER, "Reply with a number:")
            await api.wait_for_text(telegram_user, "What can I help with?", timeout=30)
            # A Signal user asking for a person gets a topic in the same staff group.
            fake.user_sends(USER, "/human")
            (topic,) = await api.wait_for_calls("createForumTopic", timeout=30)
            assert topic.params["chat_id"] == STAFF
            await fake.wait_for_text(USER, "send /end")
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, stderr.decode()
            assert b"stopped cleanly" in stderr and USER.encode() not in stderr
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await fake.close()
            shutil.rmtree(folder, ignore_errors=True)
