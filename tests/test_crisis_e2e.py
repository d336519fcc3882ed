"""Crisis words, in every offered language, answer first: from the middle of a flow and of a chat with staff."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from bot.flows.content import load_content
from tests.conftest import FLOWS, REPO
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, running_bot

CHAT = 987654321


def crisis_words() -> list[tuple[str, str]]:
    """(language, a crisis keyword in it) for every offered language, from the shipped flows."""
    try:
        flows = load_content(FLOWS, REPO / "locales")
    except Exception:
        return []
    (crisis,) = [t for t in flows.triggers if t.id == "crisis"]
    return [(lang, crisis.keywords[lang][0]) for lang in flows.settings.languages if crisis.keywords.get(lang)]


def test_crisis_words_exist_in_at_least_two_offered_languages() -> None:
    assert len(crisis_words()) >= 2


@pytest.mark.parametrize(("language", "words"), crisis_words())
async def test_crisis_words_answer_first_mid_flow_and_mid_case_in_each_language(
    tmp_path: Path, language: str, words: str
) -> None:
    flows = load_content(FLOWS, REPO / "locales")
    crisis_text = flows.texts.get(language, flows.nodes["crisis.start"].say[0])
    # The first line is the honest line about a person; the 999 line after it is the same at any hour.
    crisis_text = crisis_text.split("\n", 1)[1]
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3"):
        api.user_sends_text(CHAT, "/start", language_code=language)
        api.user_sends_text(CHAT, "1", language_code=language)  # into the first menu's first topic
        api.user_sends_text(CHAT, f"please help, {words}", language_code=language)
        await api.wait_for_text(CHAT, crisis_text.split("\n", 1)[0])
        api.user_sends_text(CHAT, "/human", language_code=language)
        await api.wait_for_calls("createForumTopic")
        api.user_sends_text(CHAT, words, language_code=language)
        await api.wait_for(lambda: sum(crisis_text.split("\n", 1)[0] in t for t in api.texts_to(CHAT)) == 2)
        await api.wait_for(lambda: any("crisis words" in (m.get("text") or "") for m in api.sent_to(STAFF)))
        # Staff still see what the user wrote, so they can help.
        await api.wait_for_calls("copyMessage", chat_id=STAFF)


async def test_out_of_hours_the_crisis_page_says_when_staff_are_back_and_nation_buttons_work(tmp_path: Path) -> None:
    from datetime import datetime

    from tests.test_telegram_e2e import Running, press

    night = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # a Wednesday, after staff hours
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=lambda: night) as running:
        bot = Running(api, running.transport)
        api.user_sends_text(CHAT, "I'm in danger")
        crisis = await api.wait_for_text(CHAT, "Our team is away now and back Thursday 10:00")
        assert (crisis.get("text") or "").startswith("I'm here with you.")
        # Buttons of the nation question and of "Did this help?" travel through Telegram's callback data.
        api.user_sends_text(CHAT, "/menu")
        await api.wait_for_text(CHAT, "What can I help with?")
        await press(bot, CHAT, "Advice and support")
        await api.wait_for_text(CHAT, "What would you like advice about?")
        await press(bot, CHAT, "Something happened to me")
        await api.wait_for_text(CHAT, "Which part of the UK are you in?")
        await press(bot, CHAT, "Wales")
        await api.wait_for_text(CHAT, "Live Fear Free")
        await press(bot, CHAT, "👍 This helped")
        await api.wait_for_text(CHAT, "Your answer helps us make this better")


async def test_after_staff_close_a_chat_the_user_can_say_in_one_tap_whether_it_helped(tmp_path: Path) -> None:
    from bot.store import open_store
    from tests.test_handoff_e2e import USER, open_case
    from tests.test_telegram_e2e import Running, press

    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api, running_bot(api, db) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for_text(USER, "The chat with our team has ended")
        await press(Running(api, bot.transport), USER, "➕ Something's missing")
        await api.wait_for_text(USER, "If you want to tell us what was missing")
    store = await open_store(db)
    try:
        rows = await store.counters(0, 10**6)
        assert any(kind == "feedback" and name == "chat:missing" and count == 1 for _, kind, name, count in rows)
    finally:
        await store.close()
