"""The shared runtime: the chores beside every transport (case tick, daily purge) and what `running` starts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.conversation import Conversations
from bot.engine import State
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.runtime import Runtime
from bot.store import open_store
from tests.conftest import FLOWS, REPO

TODAY = date(2026, 11, 25).toordinal()
IDLE = b"i" * 32


@dataclass
class Queues:
    events: list[str]

    async def resume(self) -> None:
        self.events.append("resumed")

    async def stop(self) -> None:
        self.events.append("stopped")


@dataclass
class Ticker:
    """Counts ticks, and fails when told to."""

    fail: bool = False
    ticks: int = 0

    async def tick(self) -> None:
        self.ticks += 1
        if self.fail:
            raise RuntimeError("a case went wrong")


@dataclass
class CaseDesk:
    """Stands in for Handoffs: its ticker and its relay queues."""

    fail: bool = False
    events: list[str] = field(default_factory=list)
    queues: Queues = field(init=False)
    ticker: Ticker = field(init=False)

    def __post_init__(self) -> None:
        self.queues = Queues(self.events)
        self.ticker = Ticker(self.fail)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    store = await open_store(tmp_path / "bot.sqlite3")
    noon = datetime(2026, 11, 25, 12, tzinfo=UTC)
    conversations = Conversations(load_content(FLOWS, REPO / "locales"), store, Keyring(b"k" * 32), clock=lambda: noon)
    await store.record(IDLE, State("main.menu", "en", (), TODAY - 31), (), TODAY - 31)
    try:
        yield Runtime(conversations)
    finally:
        await store.close()


async def test_a_failing_case_tick_does_not_stop_the_daily_purge(runtime: Runtime) -> None:
    cases = CaseDesk(fail=True)
    await runtime.tick(cases)  # type: ignore[arg-type]
    assert cases.ticker.ticks == 1
    assert await runtime.conversations.store.load(IDLE) is None


async def test_a_failed_purge_is_tried_again_at_the_next_tick(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = runtime.conversations.store
    real_purge = store.purge
    calls: list[Any] = []

    async def purge_failing_once(today: int, retention_days: int) -> int:
        calls.append(today)
        if len(calls) == 1:
            raise OSError("disk busy")
        return await real_purge(today, retention_days)

    monkeypatch.setattr(store, "purge", purge_failing_once)
    await runtime.tick(None)
    assert await store.load(IDLE) is not None
    await runtime.tick(None)
    assert await store.load(IDLE) is None
    await runtime.tick(None)
    assert len(calls) == 2  # purged: not again the same day


async def test_running_resumes_relays_and_stops_them_on_leaving(runtime: Runtime) -> None:
    cases = CaseDesk()
    async with runtime.running(cases):  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert cases.events == ["resumed"]
    assert cases.events == ["resumed", "stopped"]
