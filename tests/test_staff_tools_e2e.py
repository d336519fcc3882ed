"""Staff answer in the user's language: a page or service card by name, saved replies, and blocks, end to
end through the fake Bot API (and the console's staff mode)."""

from __future__ import annotations

import shutil
import struct
from datetime import timedelta
from pathlib import Path

from tests.fakebotapi import FakeBotAPI
from tests.test_console import run_bot
from tests.test_handoff_lifecycle_e2e import WEDNESDAY_NOON, Clock, staff_texts
from tests.test_signal_handoff_e2e import ALICE, both_running
from tests.test_telegram_e2e import FLOWS, STAFF, USER, Running, running_bot

HELPER = 2002  # a staff member who is not an admin of the staff group (the fake's admins: 1001)


async def open_case_in(bot: Running, language: str, chat_id: int = USER) -> int:
    """A user writing in `language` asks for a person; returns the new topic's thread id."""
    before = len(bot.api.calls_to("createForumTopic"))
    bot.api.user_sends_text(chat_id, "/start", language_code=language)
    bot.api.user_sends_text(chat_id, "/human", language_code=language)
    await bot.api.wait_for_calls("createForumTopic", count=before + 1)
    thread = 501 + before
    await bot.api.wait_for(lambda: in_topic(bot.api, thread, "Reply in this topic"))  # the case knows its topic
    await bot.api.wait_for(lambda: len([m for m in bot.api.sent_to(chat_id) if m.get("reply_markup")]) >= 2)
    return thread


def in_topic(api: FakeBotAPI, thread: int, fragment: str) -> bool:
    return any(fragment in text for text in staff_texts(api, thread))


async def test_send_gives_a_romanian_user_the_page_in_romanian_with_buttons_that_work(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case_in(bot, "ro")
        api.group_message(STAFF, "/send testing.where", thread_id=thread)
        await api.wait_for_text(USER, "Uite unde poți merge.")
        await api.wait_for(
            lambda: in_topic(api, thread, "Sent “testing.where” to the user (ro). In English:\nHere's where to go.")
        )
        assert not any("Here's where to go." in (m.get("text") or "") for m in api.sent_to(USER))
        keyboards = [dict(bot.buttons(m)) for m in api.sent_to(USER) if m.get("reply_markup")]
        choices = next(k for k in reversed(keyboards) if "Înapoi" in k)
        assert {"Ce teste și cât de des?", "Trebuie să plătesc?", "Vorbește cu o persoană"} <= set(choices)
        api.user_presses(USER, choices["Înapoi"], message_id=1)  # the page's own Back: to the testing menu
        await api.wait_for_text(USER, "Ce vrei să afli?")
        key = bot.transport.conversations.keyring.user_key("telegram", USER)
        state = await bot.transport.conversations.store.load(key)
        assert state is not None and state.node == "testing.menu" and "testing.where" in state.back


async def test_send_a_service_card_alone_lists_and_an_unknown_name_gets_did_you_mean(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case_in(bot, "ro")
        api.group_message(STAFF, "/send samaritans", thread_id=thread)
        await api.wait_for_text(USER, "116 123")
        api.group_message(STAFF, "/send", thread_id=thread)
        await api.wait_for(lambda: in_topic(api, thread, "  testing.where — Here's where to go."))
        listing = next(t for t in staff_texts(api, thread) if t.startswith("/send NAME"))
        assert "testing:" in listing and "crisis:" in listing
        api.group_message(STAFF, "/send testing.wher", thread_id=thread)
        await api.wait_for(lambda: in_topic(api, thread, "Did you mean `testing.where`?"))


async def test_reply_sends_a_saved_reply_in_polish_and_staff_see_both_versions(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case_in(bot, "pl")
        api.group_message(STAFF, "/reply police", thread_id=thread)
        await api.wait_for_text(USER, "Nie przekazujemy tego, co nam mówisz, policji")
        await api.wait_for(lambda: in_topic(api, thread, "Sent the saved reply “police” (pl):\nNie przekazujemy"))
        note = next(t for t in staff_texts(api, thread) if "“police”" in t)
        assert "In English:\nWe don't share what you tell us with the police" in note


async def test_an_untranslated_saved_reply_goes_in_english_and_staff_are_told(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    with (flows / "replies.yaml").open("a") as replies:
        replies.write('new_clinic: "There is a new evening clinic on Thursdays."\n')
    async with (
        FakeBotAPI() as api,
        running_bot(api, tmp_path / "bot.sqlite3", flows_dir=flows, clock=Clock(WEDNESDAY_NOON)) as bot,
    ):
        thread = await open_case_in(bot, "pl")
        api.group_message(STAFF, "/reply new_clinic", thread_id=thread)
        await api.wait_for_text(USER, "There is a new evening clinic on Thursdays.")
        await api.wait_for(
            lambda: in_topic(api, thread, "is not translated into pl yet, so the user got it in English")
        )


async def test_a_blocked_person_is_told_kindly_keeps_the_crisis_page_and_the_block_runs_out(tmp_path: Path) -> None:
    clock = Clock(WEDNESDAY_NOON)
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api, running_bot(api, db, clock=clock) as bot:
        thread = await open_case_in(bot, "ro")
        api.group_message(STAFF, "/block 1", thread_id=thread, user=api.user(HELPER, first_name="Helper"))
        await api.wait_for(lambda: in_topic(api, thread, "Only the group's admins can use /block."))
        api.group_message(STAFF, "/block 1", thread_id=thread)
        await api.wait_for_calls("closeForumTopic")
        assert in_topic(api, thread, "Blocked for 1 day(s), until the end of 2026-11-25")
        api.user_sends_text(USER, "/human", language_code="ro")
        await api.wait_for_text(USER, "Echipa noastră nu poate vorbi cu tine acum.")
        await api.wait_for_text(USER, "116 123")  # the 24-hour services come with it
        api.user_sends_text(USER, "un client m-a atacat aseară", language_code="ro")
        await api.wait_for_text(USER, "Sunt aici cu tine")
        assert len(api.calls_to("createForumTopic")) == 1
        api.group_message(STAFF, "/blocked")
        await api.wait_for(lambda: any("Blocks in force: 1." in t for t in staff_texts(api)))

        store = bot.transport.conversations.store
        await store.scrubbed()
        files = {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}
        for name, content in files.items():
            for planted in (str(USER).encode(), struct.pack(">i", USER), struct.pack(">q", USER)):
                assert planted not in content, f"the chat id is in {name}"

        clock.now += timedelta(days=1)  # the block was for one day: the next day they can ask again
        api.user_sends_text(USER, "/human", language_code="ro")
        await api.wait_for_calls("createForumTopic", count=2)


async def test_unblock_by_the_case_alias_lets_the_person_ask_again(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case_in(bot, "en")
        (case,) = await bot.transport.conversations.store.open_cases()
        api.group_message(STAFF, "/block", thread_id=thread)
        await api.wait_for(lambda: in_topic(api, thread, "Blocked for 30 day(s)"))
        api.group_message(STAFF, f"/unblock {case.alias.lower()}", user=api.user(HELPER, first_name="Helper"))
        await api.wait_for(lambda: any("Only the group's admins can use /unblock." in t for t in staff_texts(api)))
        api.group_message(STAFF, f"/unblock {case.alias}")
        await api.wait_for(
            lambda: any(f"The block made from case {case.alias} is lifted" in t for t in staff_texts(api))
        )
        api.user_sends_text(USER, "/human")
        await api.wait_for_calls("createForumTopic", count=2)


def test_the_console_staff_mode_sends_pages_replies_and_blocks(tmp_path: Path) -> None:
    script = (
        "/human\n/staff /send testing.where\n6\n/staff /reply here\n/staff /block 1\n/human\n/staff /blocked\n/quit\n"
    )
    result = run_bot(
        ["chat", "--lang", "ro", "--db", str(tmp_path / "bot.sqlite3"), "--flows", str(FLOWS)], script, tmp_path
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Uite unde poți merge." in out and "[staff #1] Sent “testing.where” to the user (ro)." in out
    assert "Ce vrei să afli?" in out  # the page's sixth button, Back, typed as its number
    assert "Consilier: Sunt aici. Ia-ți tot timpul" in out and "In English:\nI'm here." in out
    assert "Echipa noastră nu poate vorbi cu tine acum." in out
    assert "[staff] Blocks in force: 1." in out


async def test_a_signal_user_gets_a_sent_page_as_numbered_choices_that_answer(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        bot.api.group_message(STAFF, "/send testing.where", thread_id=thread)
        await bot.signal.wait_for_text(ALICE, "Here's where to go.")
        await bot.signal.wait_for_text(ALICE, "Reply with a number:\n1. Which tests, and how often?")
        await bot.api.wait_for(
            lambda: any(t.startswith("Sent “testing.where” to the user (en).") for t in bot.topic(thread))
        )
        # The number answers the page staff sent (the bot, not staff, replies), and the chat stays open.
        await bot.say("6", "What would you like to know?")
        assert not any(t == "6" for t in bot.topic(thread))
