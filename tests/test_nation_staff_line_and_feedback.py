"""Through the real engine and store: the nation question asked once and kept like the language, the crisis
page's honest line about a person, and the one-tap "Did this help?" counted per day and shown in stats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.engine import Command, Pick, Staff, Text, start_state, step
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.stats.render import render_text
from bot.stats.tally import summarise
from bot.store import Store, open_store
from bot.vocabulary import CHAT_FEEDBACK, NATION_MENU
from tests.conftest import FLOWS, REPO

FLOWSET = load_content(FLOWS, REPO / "locales")
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WEDNESDAY_NIGHT = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(tmp_path / "bot.sqlite3")
    yield opened
    await opened.close()


def service(store: Store, now: datetime) -> Conversations:
    return Conversations(FLOWSET, store, Keyring(b"n" * 32), clock=lambda: now)


async def test_the_nation_is_asked_once_and_kept_like_the_language(store: Store) -> None:
    bot = service(store, WEDNESDAY_NOON)
    await bot.handle("test", 1, Command("start"))
    await bot.handle("test", 1, Text("advice and support"))
    asked = await bot.handle("test", 1, Text("something happened to me"))
    assert asked.state.node == NATION_MENU and "Which part of the UK" in asked.reply.parts[-1]
    answered = await bot.handle("test", 1, Pick(NATION_MENU, "nation:1"))  # Scotland
    assert answered.state.node == "advice.violence"
    assert {card.id for card in answered.reply.services} >= {"sarc_scotland", "rape_crisis_scotland"}
    assert not {card.id for card in answered.reply.services} & {"rape_crisis", "sarc", "live_fear_free"}
    # Kept in the session, so a later page with other regional services asks nothing.
    later = await bot.handle("test", 1, Text("my partner controls me"))
    assert later.state.node == "advice.domestic" and later.state.nation == "Scotland"
    assert next(card.id for card in later.reply.services) == "scotland_domestic_abuse"


async def test_crisis_words_are_never_held_up_by_the_nation_question(store: Store) -> None:
    bot = service(store, WEDNESDAY_NOON)
    await bot.handle("test", 2, Command("start"))
    outcome = await bot.handle("test", 2, Text("I was attacked"))
    assert outcome.state.node == "crisis.start" and outcome.state.nation is None
    assert next(card.id for card in outcome.reply.services) == "emergency_999"


async def test_crisis_page_puts_a_person_first_when_staff_are_in(store: Store) -> None:
    outcome = await service(store, WEDNESDAY_NOON).handle("test", 3, Text("I'm in danger"))
    assert outcome.reply.parts[0].startswith("I'm here with you. Someone from our team can talk with you now")
    assert outcome.reply.buttons[0].label == "Talk to a person now"


async def test_crisis_page_out_of_hours_says_honestly_when_staff_are_back(store: Store) -> None:
    outcome = await service(store, WEDNESDAY_NIGHT).handle("test", 4, Text("I'm in danger"))
    first_line = outcome.reply.parts[0].split("\n", 1)[0]
    assert "Our team is away now and back Thursday 10:00" in first_line
    assert "can talk with you now" not in outcome.reply.parts[0]


def test_crisis_page_without_known_hours_never_promises_a_person() -> None:
    state = start_state(FLOWSET, "en")
    outcome = step(FLOWSET, state, Text("suicidal"), WEDNESDAY_NOON, Staff())
    line = outcome.reply.parts[0].split("\n", 1)[0]
    assert line == FLOWSET.messages["person_unknown"]
    assert "now:" not in line and "back" not in line


@pytest.mark.parametrize("language", FLOWSET.settings.languages)
def test_the_staff_line_is_translated_and_keeps_the_time(language: str) -> None:
    state = start_state(FLOWSET, language)
    outcome = step(FLOWSET, state, Command("start"), WEDNESDAY_NIGHT, Staff("out", "12:34"))
    crisis = step(FLOWSET, outcome.state, Pick("main.welcome", "c:3"), WEDNESDAY_NIGHT, Staff("out", "12:34"))
    assert crisis.state.node == "crisis.start"
    assert "12:34" in crisis.reply.parts[0].split("\n", 1)[0]
    if language != "en":
        assert "I'm here with you" not in crisis.reply.parts[0]


async def test_did_this_help_is_one_tap_and_kept_only_as_a_daily_counter(store: Store) -> None:
    bot = service(store, WEDNESDAY_NOON)
    await bot.handle("test", 5, Command("start"))
    await bot.handle("test", 5, Text("advice and support"))
    page = await bot.handle("test", 5, Text("groups run by sex workers"))
    assert page.state.node == "advice.peer"
    labels = [b.label for b in page.reply.buttons]
    assert labels[-3:] == ["👍 This helped", "👎 Not really", "➕ Something's missing"]
    thanks = await bot.handle("test", 5, Pick("advice.peer", "fb:missing"))
    assert "choose Talk to a person" in thanks.reply.parts[0]
    await bot.handle("test", 6, Pick(CHAT_FEEDBACK, "fb:yes"))  # after a chat with staff
    day = WEDNESDAY_NOON.date().toordinal()
    rows = await store.counters(day, day)
    assert (day, "feedback", "advice.peer:missing", 1) in rows and (day, "feedback", "chat:yes", 1) in rows
    stats = summarise([(d, k, n, c) for d, k, n, c in rows], date(2026, 11, 25), date(2026, 11, 25))
    text = render_text(stats, lambda key, **v: FLOWSET.messages[key].format(**v), "en")
    assert (
        "Did this help?" in text and "advice › peer 0/0/<5" in text and "chat <5/0/0" in text
    )  # one answer: never shown as 1


def test_urgent_pages_offer_no_feedback_buttons() -> None:
    outcome = step(FLOWSET, start_state(FLOWSET, "en"), Text("condom broke"), WEDNESDAY_NOON)
    assert outcome.state.node == "testing.pep"
    assert not any(b.action.startswith("fb:") for b in outcome.reply.buttons)


async def test_nation_and_misses_survive_a_restart_of_the_store(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await open_store(path)
    bot = service(first, WEDNESDAY_NOON)
    await bot.handle("test", 9, Command("start"))
    await bot.handle("test", 9, Text("housing"))
    await bot.handle("test", 9, Pick(NATION_MENU, "nation:2"))  # Wales
    await bot.handle("test", 9, Text("blorp"))
    await first.close()
    again = await open_store(path)
    try:
        outcome = await service(again, WEDNESDAY_NOON).handle("test", 9, Text("blorp"))
        assert outcome.state.nation == "Wales"
        assert "still didn't understand" in outcome.reply.parts[-1]
    finally:
        await again.close()
