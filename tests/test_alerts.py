"""Staff are told once, not on every retry, when another copy runs, Telegram is out of reach or the database
fails, and once when it is over; /healthz says the same over real HTTP."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from telegram.ext import AIORateLimiter

from bot.conversation import Conversations
from bot.flows.content import load_content
from bot.ops.alerts import Alerts, Trouble
from bot.ops.monitor import Monitor
from bot.privacy.keys import Keyring
from bot.store import Store, open_store
from bot.transports.telegram.app import (
    TelegramTransport,
    Webhook,
    build_application,
    serve,
)
from tests.conftest import FLOWS, REPO
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, bot_process, free_port

CONFLICT = "Another copy of this bot is running with the same token"


@dataclass
class ManualClock:
    """Monotonic seconds that move only when a test moves them."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Database:
    """A database check a test can break."""

    store: Store
    broken: bool = False

    async def check(self) -> object:
        if self.broken:
            raise sqlite3.OperationalError("disk I/O error")
        return await self.store.secret_check()


@asynccontextmanager
async def monitored_bot(
    api: FakeBotAPI, tmp_path: Path, clock: ManualClock, webhook: Webhook | None = None
) -> AsyncIterator[tuple[Monitor, Database]]:
    """The bot as `python -m bot run` wires it, with probes every few milliseconds and a test's clock."""
    store = await open_store(tmp_path / "bot.sqlite3")
    database = Database(store)
    transport = TelegramTransport(
        Conversations(load_content(FLOWS, REPO / "locales"), store, Keyring(b"k" * 32)), STAFF
    )
    application = build_application(
        transport, api.token, api.base_url, api.base_file_url, AIORateLimiter(max_retries=2)
    )
    monitor = Monitor.attach(
        application,
        transport.post_to_staff,
        database.check,
        webhook.url if webhook else None,
        clock=clock,
        probe_seconds=0.02,
    )
    stop = asyncio.Event()
    await monitor.start(("127.0.0.1", 0))
    task = asyncio.create_task(
        serve(application, transport, stop, webhook, poll_timeout=1, poll_errors=monitor.on_poll_error)
    )
    try:
        # Started: updates asked for (the webhook set, or removed for polling), and the monitor's first probe
        # made, which waits until the bot runs: getMe (PTB's own is the first), or getWebhookInfo.
        await api.wait_for_calls("setWebhook" if webhook else "deleteWebhook", timeout=10)
        await (
            api.wait_for_calls("getWebhookInfo", timeout=10) if webhook else api.wait_for_calls("getMe", 2, timeout=10)
        )
        yield monitor, database
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await monitor.stop()
        await store.close()


def staff_texts(api: FakeBotAPI, fragment: str) -> list[str]:
    return [text for text in api.texts_to(STAFF) if fragment in text]


def failed(api: FakeBotAPI, method: str) -> int:
    return sum(call.method == method for call in api.failed_calls)


async def more_probes(api: FakeBotAPI, count: int = 3) -> None:
    """Wait until the monitor has asked Telegram `count` more times."""
    seen = len(api.calls_to("getMe"))
    await api.wait_for_calls("getMe", seen + count)


async def get_health(monitor: Monitor) -> tuple[int, dict[str, object]]:
    assert monitor.health_server is not None
    return await fetch_health(monitor.health_server.port)


async def fetch_health(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


async def test_another_copy_polling_is_told_once_then_resolved_once_without_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, clock) as (monitor, _):
        api.conflict = True
        await api.wait_for_text(STAFF, CONFLICT)
        await api.wait_for(lambda: failed(api, "getUpdates") >= 2, timeout=10, what="PTB retrying getUpdates")
        status, body = await get_health(monitor)
        assert status == 503 and body["problems"] == ["telegram: another copy of the bot uses the same token"]
        api.conflict = False
        api.user_sends_text(USER, "/start")  # answered: polling works again
        await api.wait_for_text(USER, "What can I help with?", timeout=10)
        clock.now += 91  # a minute and a half with no Conflict
        await api.wait_for_text(STAFF, "Resolved: no other copy of the bot has used the token")
        await more_probes(api)
        assert len(staff_texts(api, CONFLICT)) == 1 and len(staff_texts(api, "Resolved")) == 1
        assert (await get_health(monitor))[0] == 200
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert sum(r.levelno >= logging.ERROR and "conflict" in r.getMessage() for r in caplog.records) == 1


async def test_telegram_out_of_reach_for_minutes_is_told_once_when_it_can_be(tmp_path: Path) -> None:
    clock = ManualClock()
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, clock) as (monitor, _):
        api.outage = True
        await api.wait_for(lambda: failed(api, "getMe") >= 1, what="a probe during the outage")
        status, body = await get_health(monitor)
        assert status == 503 and body["problems"] == ["telegram: unreachable (NetworkError)"]
        clock.now += 600
        # The alert is due, but Telegram is unreachable, so it can't be sent: it is tried again, not repeated.
        await api.wait_for(lambda: failed(api, "sendMessage") >= 2, what="the alert tried twice")
        api.outage = False
        (told,) = [await api.wait_for_text(STAFF, "could not reach Telegram")]
        assert told["text"].startswith(
            "The bot could not reach Telegram for 10 minutes (NetworkError); it can again now."
        )
        await more_probes(api)
        assert len(staff_texts(api, "Telegram")) == 1
        assert (await get_health(monitor))[0] == 200


async def test_a_short_blip_in_reaching_telegram_tells_nobody(tmp_path: Path) -> None:
    clock = ManualClock()
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, clock):
        api.outage = True
        await api.wait_for(lambda: failed(api, "getMe") >= 2, what="probes during the outage")
        clock.now += 60
        api.outage = False
        await more_probes(api)
        assert api.texts_to(STAFF) == []


async def test_a_failing_database_is_told_once_and_its_recovery_once(tmp_path: Path) -> None:
    clock = ManualClock()
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, clock) as (monitor, database):
        database.broken = True
        await api.wait_for_text(STAFF, "The bot can't use its database (OperationalError)")
        status, body = await get_health(monitor)
        assert status == 503 and body["problems"] == ["database: OperationalError"]
        await more_probes(api)
        clock.now += 120
        database.broken = False
        await api.wait_for_text(STAFF, "Resolved: the database works again, after 2 minutes.")
        await more_probes(api)
        assert len(staff_texts(api, "database")) == 2


async def test_a_webhook_another_copy_removed_is_told(tmp_path: Path) -> None:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/telegram", "127.0.0.1", port, "s3cret-token")
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, ManualClock(), webhook=hook):
        await api.wait_for_calls("setWebhook")
        api.webhook = None  # another copy started polling, which deletes the webhook
        told = await api.wait_for_text(STAFF, CONFLICT)
        assert "the webhook was changed or removed; restart this copy once the other is stopped" in told["text"]


async def test_healthz_answers_over_http_with_the_last_updates_age_and_refuses_other_paths(tmp_path: Path) -> None:
    clock = ManualClock()
    async with FakeBotAPI() as api, monitored_bot(api, tmp_path, clock) as (monitor, _):
        await more_probes(api, 1)
        status, body = await get_health(monitor)
        assert status == 200 and body["status"] == "ok" and body["last_update_seconds_ago"] is None
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "What can I help with?", timeout=10)
        clock.now += 42
        status, body = await get_health(monitor)
        assert status == 200 and body["last_update_seconds_ago"] == 42.0 and body["mode"] == "polling"
        assert monitor.health_server is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{monitor.health_server.port}/telegram") as response:
                assert response.status == 404
            async with session.post(f"http://127.0.0.1:{monitor.health_server.port}/healthz") as response:
                assert response.status == 405


async def test_python_m_bot_run_serves_healthz_beside_the_webhook(tmp_path: Path) -> None:
    port, health = free_port(), free_port()
    async with FakeBotAPI() as api:
        async with bot_process(
            api,
            tmp_path,
            FLOWS,
            "--webhook",
            f"http://127.0.0.1:{port}/telegram",
            "--port",
            str(port),
            "--health-port",
            str(health),
        ) as bot:
            await api.wait_for_calls("setWebhook", timeout=30)
            status, body = await fetch_health(health)
            assert status == 200 and body["mode"] == "webhook", body
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?", timeout=30)
            status, body = await fetch_health(health)
            assert status == 200 and body["status"] == "ok", body
            assert isinstance(body["last_update_seconds_ago"], float)
        assert bot.process.returncode == 0, bot.log


def test_an_alert_that_cannot_be_sent_waits_and_a_resolved_trouble_is_told_in_one_message() -> None:
    sent: list[str] = []
    down = [True]

    async def notify(text: str) -> None:
        if down[0]:
            raise ConnectionError
        sent.append(text)

    clock = ManualClock()
    alerts = Alerts(notify, clock)

    async def scenario() -> None:
        alerts.seen(Trouble.DATABASE, "OperationalError")
        await alerts.tell()
        await alerts.tell()
        assert sent == [] and len(alerts.outbox) == 1  # kept once, not queued per retry
        clock.now += 300
        alerts.cleared(Trouble.DATABASE)
        down[0] = False
        await alerts.tell()

    asyncio.run(scenario())
    assert sent == ["The bot could not use its database for 5 minutes (OperationalError); it works again now."]


async def test_a_health_port_already_taken_is_one_line_naming_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeBotAPI() as api, bot_process(api, tmp_path, FLOWS, "--health-port", str(port)) as bot:
            await bot.process.wait()
    assert bot.process.returncode == 2
    assert f"error: cannot serve /healthz on 127.0.0.1:{port}" in bot.log
    assert "Traceback" not in bot.log
