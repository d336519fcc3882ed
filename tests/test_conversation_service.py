"""The conversation service: engine + store per user, in order, with counters and forgetting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.engine import Command, Pick, Text
from bot.flows import FlowSet
from bot.privacy.keys import Keyring
from bot.store import open_store

CLOCK = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)


@pytest.fixture
async def service(tmp_path: Path, shipped_flows: FlowSet):
    store = await open_store(tmp_path / "bot.sqlite3")
    yield Conversations(shipped_flows, store, Keyring(b"s" * 32), clock=lambda: CLOCK)
    await store.close()


async def test_state_survives_between_messages(service: Conversations) -> None:
    await service.handle("test", 1, Command("start"))
    await service.handle("test", 1, Text("testing and sexual health"))
    outcome = await service.handle("test", 1, Text("pep"))
    assert outcome.state.node == "testing.pep"
    assert outcome.state.back == ("main.welcome", "testing.menu")


async def test_concurrent_updates_from_one_user_apply_in_arrival_order(service: Conversations) -> None:
    script = [
        Command("start"),
        Text("1"),
        Text("2"),
        Command("back"),
        Text("3"),
        Command("menu"),
        Text("2"),
        Text("1"),
    ] * 4
    results = await asyncio.gather(*(service.handle("test", 7, inbound) for inbound in script))
    # The same script run one message at a time, for another user, must end the same way.
    for inbound in script:
        expected = await service.handle("test", 8, inbound)
    assert [r.state.node for r in results][-1] == expected.state.node
    assert results[-1].state == expected.state


async def test_users_are_independent(service: Conversations) -> None:
    await service.handle("test", 1, Command("start"))
    await service.handle("test", 1, Text("advice and support"))
    other = await service.handle("test", 2, Text("hello"))
    assert other.state.node == "main.welcome"  # a first message, even "hello", gets the welcome
    mine = await service.handle("test", 1, Command("help"))
    assert mine.state.node == "advice.menu"


async def test_forget_removes_the_stored_session(service: Conversations) -> None:
    await service.handle("test", 3, Command("start"))
    assert await service.store.session_count() == 1
    await service.handle("test", 3, Command("forget"))
    assert await service.store.session_count() == 0


async def test_days_are_counted_in_london_time(service: Conversations) -> None:
    outcome = await service.handle("test", 4, Command("start"))
    # 23:30 UTC on 25 November is still the 25th in London (GMT in winter).
    assert outcome.state.day == datetime(2026, 11, 25).toordinal()
    rows = await service.store.counters(outcome.state.day, outcome.state.day)
    assert (outcome.state.day, "conversation", "started", 1) in rows
    assert (outcome.state.day, "node", "main.welcome", 1) in rows


async def test_first_contact_takes_the_messenger_language_when_offered(service: Conversations) -> None:
    outcome = await service.handle("test", 5, Command("start"), language_code="xx-YY")
    assert outcome.state.locale == service.flows.settings.default_language


async def test_button_pick_round_trips_through_the_store(service: Conversations) -> None:
    first = await service.handle("test", 6, Command("start"))
    button = first.reply.buttons[0]
    outcome = await service.handle("test", 6, Pick(button.node, button.action))
    assert outcome.state.node == "testing.menu"
