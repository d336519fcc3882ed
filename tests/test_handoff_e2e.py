"""Handoff end to end through the fake Bot API: topics, copies, aliases, staff commands, bursts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from telegram.ext import AIORateLimiter

from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, Running, running_bot

PLANTED = {"first_name": "Maria", "last_name": "Plantedname", "username": "maria_planted"}


async def open_case(bot: Running, chat_id: int = USER) -> int:
    """The user asks for a person; returns the topic's thread id."""
    before = len(bot.api.calls_to("createForumTopic"))
    bot.api.user_sends_text(chat_id, "/human", user=bot.api.user(chat_id, "en", **PLANTED))
    calls = await bot.api.wait_for_calls("createForumTopic", count=before + 1)
    thread_id = 501 + before
    # The case's first note in its topic means the case knows its topic: staff commands there now work.
    await bot.api.wait_for(lambda: any(m.get("message_thread_id") == thread_id for m in bot.api.sent_to(STAFF)))
    assert calls[-1].params["chat_id"] == STAFF
    return thread_id


async def test_request_opens_a_topic_that_shows_nothing_of_the_users_identity(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        await open_case(bot)
        (topic,) = api.calls_to("createForumTopic")
        assert topic.params["name"].startswith("Case ") and " · en · " in topic.params["name"]
        # Whether staff are in depends on the wall clock here; both wordings are tested with a fixed clock.
        await api.wait_for(lambda: any("queue" in t or "They will be back" in t for t in api.texts_to(USER)))
        staff_side = json.dumps([c.params for c in api.calls if c.params.get("chat_id") == STAFF])
        for planted in (str(USER), *PLANTED.values()):
            assert planted not in staff_side


async def test_out_of_hours_the_next_opening_is_written_in_each_users_language(tmp_path: Path) -> None:
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=lambda: saturday_noon) as bot:
        await open_case(bot, 301)
        api.user_sends_text(302, "/human", language_code="ro")
        await api.wait_for_calls("createForumTopic", count=2)
        await api.wait_for_text(301, "They will be back Monday 10:00.")
        # Romanian text, with the day and time written the Romanian way by babel.
        await api.wait_for(lambda: any("luni 10:00" in t and "Echipa" in t for t in api.texts_to(302)))
        await api.wait_for(lambda: sum("Opened out of hours" in (m.get("text") or "") for m in api.sent_to(STAFF)) == 2)
        # A message left out of hours is copied into the case for staff to pick up.
        left = api.user_sends_text(301, "Please call me back about PEP")
        (copy,) = await api.wait_for_calls("copyMessage", chat_id=STAFF)
        assert copy.params["message_id"] == left


async def test_user_text_and_photo_are_copied_never_forwarded(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        thread = await open_case(bot)
        text_id = api.user_sends_text(USER, "I need to talk about something")
        photo_id = api.user_sends(USER, "photo")
        copies = await api.wait_for_calls("copyMessage", count=2, chat_id=STAFF)
        assert [(c.params["from_chat_id"], c.params["message_id"], c.params["message_thread_id"]) for c in copies] == [
            (USER, text_id, thread),
            (USER, photo_id, thread),
        ]
        assert api.calls_to("forwardMessage") == []


async def test_staff_reply_reaches_user_without_revealing_staff_name(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "/alias Sam", thread_id=thread)
        await api.wait_for(lambda: any("now sees you as" in (m.get("text") or "") for m in api.sent_to(STAFF)))
        api.group_message(STAFF, "Hello, I'm here to help", thread_id=thread)
        reply = await api.wait_for_text(USER, "Hello, I'm here to help")
        assert reply["text"] == "<b>Sam</b>\nHello, I&#x27;m here to help" or reply["text"].startswith("<b>Sam</b>\n")
        assert reply["protect_content"] is True
        everything_to_user = json.dumps(api.sent_to(USER))
        for staff_identity in ("Staffer", "Realname", "staff_account", "1001"):
            assert staff_identity not in everything_to_user
        await api.wait_for_text(USER, "Sam from our team has joined the chat.")


async def test_note_claim_release_close_and_end(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "!private note", thread_id=thread)
        api.group_message(STAFF, "/claim", thread_id=thread)
        await api.wait_for_text(USER, "Support worker from our team has joined the chat.")
        assert not any("private note" in t for t in api.texts_to(USER))
        api.group_message(STAFF, "/release", thread_id=thread)
        await api.wait_for_text(USER, "You're back with the automatic menu")
        await api.wait_for_calls("closeForumTopic")
        api.user_sends_text(USER, "/menu")
        await api.wait_for_text(USER, "What can I help with?")

        thread = await open_case(bot)
        api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for_text(USER, "The chat with our team has ended")

        thread = await open_case(bot)
        api.user_sends_text(USER, "/end")
        await api.wait_for_text(USER, "You've left the chat with our team")
        await api.wait_for(
            lambda: any("The user has left this chat." in (m.get("text") or "") for m in api.sent_to(STAFF))
        )


async def test_staff_commands_from_the_private_chat_are_refused_without_revealing_them(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        await open_case(bot, chat_id=222)
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "What can I help with?")
        for command in ("/claim", "/close", "/queue", "/alias Boss"):
            api.user_sends_text(USER, command)
        await api.wait_for(lambda: sum("didn't catch that" in t for t in api.texts_to(USER)) == 4)
        assert not any("/claim" in t or "queue" in t.lower() for t in api.texts_to(USER))
        assert not any("joined the chat" in t for t in api.texts_to(222))


async def test_two_cases_at_once_never_cross(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        thread_a = await open_case(bot, 301)
        thread_b = await open_case(bot, 302)
        assert thread_a != thread_b
        api.group_message(STAFF, "for A only", thread_id=thread_a)
        api.group_message(STAFF, "for B only", thread_id=thread_b)
        from_a = api.user_sends_text(301, "A writes")
        from_b = api.user_sends_text(302, "B writes")
        await api.wait_for_text(301, "for A only")
        await api.wait_for_text(302, "for B only")
        copies = await api.wait_for_calls("copyMessage", count=2, chat_id=STAFF)
        assert {(c.params["from_chat_id"], c.params["message_id"], c.params["message_thread_id"]) for c in copies} == {
            (301, from_a, thread_a),
            (302, from_b, thread_b),
        }
        assert not any("for B" in t for t in api.texts_to(301))
        assert not any("for A" in t for t in api.texts_to(302))


async def test_queue_in_the_staff_group(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        await open_case(bot, 301)
        await open_case(bot, 302)
        api.group_message(STAFF, "/queue")
        await api.wait_for(lambda: any("Open cases: 2" in (m.get("text") or "") for m in api.sent_to(STAFF)))


async def test_a_case_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db) as bot:
            thread = await open_case(bot)
        async with running_bot(api, db):
            api.group_message(STAFF, "after the restart", thread_id=thread)
            await api.wait_for_text(USER, "after the restart")
            api.user_sends_text(USER, "still here")
            await api.wait_for(lambda: len(api.calls_to("copyMessage", STAFF)) == 1)


async def test_burst_of_ten_cases_with_429s_delivers_every_message_once_in_order(tmp_path: Path) -> None:
    # Telegram's group limit (20 a minute) compressed thirtyfold, so the limiter really queues the
    # burst, while the test stays short; 429s on top are retried by the same limiter.
    limiter = AIORateLimiter(group_max_rate=20, group_time_period=2, max_retries=30)
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", limiter) as bot:
        users = [5000 + i for i in range(10)]
        threads = {user: await open_case(bot, user) for user in users}
        api.rate_limit("copyMessage", every_nth=10, retry_after=1, count=4)
        sent: dict[int, list[int]] = {user: [] for user in users}
        for n in range(10):
            for user in users:
                sent[user].append(api.user_sends_text(user, f"message {n} from {user}"))
        await api.wait_for(lambda: len(api.calls_to("copyMessage", STAFF)) == 100, timeout=90, what="100 copies")
        assert len(api.failed_calls) == 4, "four copies should have met a 429 and been retried"
        copies = api.calls_to("copyMessage", STAFF)
        for user in users:
            mine = [c for c in copies if c.params["from_chat_id"] == user]
            assert [c.params["message_id"] for c in mine] == sent[user], user
            assert {c.params["message_thread_id"] for c in mine} == {threads[user]}
        # Nothing is sent twice, even once every relay queue has drained and its retries have settled.
        await bot.transport.handoffs.queues.wait_idle()
        assert len(api.calls_to("copyMessage", STAFF)) == 100
