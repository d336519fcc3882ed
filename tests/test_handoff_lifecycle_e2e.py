"""A handoff that never loses a person, end to end through the fake Bot API with an injected clock:
round the clock, users who block the bot, deleted topics, refused topics, relays that never hold a turn."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram.ext import AIORateLimiter

from bot.handoff.relays import RelayItem
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, Running, bot_process, running_bot

UTC = UTC
FRIDAY_7PM = datetime(2026, 8, 28, 18, 0, tzinfo=UTC)  # 19:00 in London (BST); Monday 31 August is a bank holiday
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def staff_texts(api: FakeBotAPI, thread: int | None = None) -> list[str]:
    return [m.get("text") or "" for m in api.sent_to(STAFF, thread)]


def main_thread_texts(api: FakeBotAPI) -> list[str]:
    return [m.get("text") or "" for m in api.sent_to(STAFF) if "message_thread_id" not in m]


async def open_case(bot: Running, chat_id: int = USER) -> int:
    """The user asks for a person; returns the new topic's thread id."""
    before = len(bot.api.calls_to("createForumTopic"))
    bot.api.user_sends_text(chat_id, "/human")
    await bot.api.wait_for_calls("createForumTopic", count=before + 1)
    await bot.api.wait_for(lambda: any("End chat" in str(m.get("reply_markup")) for m in bot.api.sent_to(chat_id)))
    return 501 + before


async def test_friday_evening_request_waits_through_a_bank_holiday_weekend_and_tuesdays_answer_arrives(
    tmp_path: Path,
) -> None:
    clock = Clock(FRIDAY_7PM)
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=clock) as bot:
        thread = await open_case(bot)
        await api.wait_for_text(USER, "They will be back Tuesday 10:00.")  # Monday 31 August is skipped
        cards = await api.wait_for_text(USER, "Places that can help")
        assert cards["text"].index("999") < cards["text"].index("Samaritans")  # 24-hour services at once, crisis first
        clock.now = datetime(2026, 8, 29, 1, 0, tzinfo=UTC)  # Saturday 02:00
        first = api.user_sends_text(USER, "Are you there?")
        second = api.user_sends_text(USER, "I need to ask about PEP")
        for day in (29, 30, 31):  # the weekend and the bank holiday, at noon and late evening
            for hour in (11, 21):
                clock.now = datetime(2026, 8, day, hour, 0, tzinfo=UTC)
                await bot.transport.handoffs.ticker.tick()
        assert len(await bot.transport.conversations.store.open_cases()) == 1
        assert not any("has ended" in t or "Sorry for the wait" in t for t in api.texts_to(USER))
        copies = await api.wait_for_calls("copyMessage", count=2, chat_id=STAFF)
        assert [(c.params["message_id"], c.params["message_thread_id"]) for c in copies] == [
            (first, thread),
            (second, thread),
        ]
        clock.now = datetime(2026, 9, 1, 9, 5, tzinfo=UTC)  # Tuesday 10:05, staff are back
        await bot.transport.handoffs.ticker.tick()
        api.group_message(STAFF, "Hello, sorry for the wait. Happy to help with PEP.", thread_id=thread)
        await api.wait_for_text(USER, "Happy to help with PEP.")


async def test_a_claimed_chat_quiet_for_two_staff_hours_closes_but_not_over_a_weekend(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 27, 15, 30, tzinfo=UTC))  # Friday 15:30, half an hour before staff leave
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=clock) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "Hi, I'm here", thread_id=thread)
        await api.wait_for_text(USER, "Hi, I'm here")
        clock.now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 10:00: only 30 staff minutes quiet
        await bot.transport.handoffs.ticker.tick()
        assert len(await bot.transport.conversations.store.open_cases()) == 1
        clock.now = datetime(2026, 11, 30, 11, 31, tzinfo=UTC)  # two staff hours quiet
        await bot.transport.handoffs.ticker.tick()
        await api.wait_for_text(USER, "ended because it was quiet")
        assert await bot.transport.conversations.store.open_cases() == []


async def test_a_user_who_blocks_the_bot_closes_their_case_without_jamming_anyone_elses(tmp_path: Path) -> None:
    clock = Clock(WEDNESDAY_NOON)
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=clock) as bot:
        blocked_thread = await open_case(bot, 301)
        await open_case(bot, 302)
        api.blocked.add(301)
        clock.now += timedelta(minutes=11)
        await bot.transport.handoffs.ticker.tick()
        await api.wait_for_text(302, "Sorry for the wait")  # the other case is still looked after
        await api.wait_for(lambda: any("blocked the bot" in t for t in staff_texts(api, blocked_thread)))
        (case,) = await bot.transport.conversations.store.open_cases()
        api.group_message(STAFF, "/close", thread_id=case.thread_id)
        await api.wait_for_text(302, "The chat with our team has ended")
        assert await bot.transport.conversations.store.open_cases() == []


async def test_close_of_a_blocked_user_says_they_could_not_be_told(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.blocked.add(USER)
        api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for(
            lambda: any(
                t.startswith("Case closed. The user could not be told (Forbidden: bot was blocked")
                for t in staff_texts(api, thread)
            )
        )
        await api.wait_for_calls("closeForumTopic")
        assert await bot.transport.conversations.store.open_cases() == []


async def test_a_staff_reply_to_a_blocked_user_is_reported_and_closes_the_case(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.group_message(STAFF, "Hello!", thread_id=thread)
        await api.wait_for_text(USER, "Hello!")
        api.blocked.add(USER)
        api.group_message(STAFF, "Are you still there?", thread_id=thread)
        await api.wait_for(lambda: any("blocked the bot" in t for t in staff_texts(api, thread)))
        assert await bot.transport.conversations.store.open_cases() == []


async def test_a_deleted_topic_closes_the_case_tells_staff_and_the_user_is_back_with_the_bot(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        thread = await open_case(bot)
        api.deleted_topics.add(thread)  # staff deleted the topic in Telegram
        api.user_sends_text(USER, "hello?")
        await api.wait_for(lambda: any("was deleted, so the case is closed" in t for t in main_thread_texts(api)))
        await api.wait_for_text(USER, "The chat with our team has ended")
        api.user_sends_text(USER, "/menu")
        await api.wait_for_text(USER, "What can I help with?")
        assert not any("something went wrong" in t for t in api.texts_to(USER))


def relays_queued(bot: Running, count: int) -> asyncio.Event:
    """An event set once `count` user messages are stored for staff (no reply marks that moment)."""
    queues = bot.transport.handoffs.queues
    put, seen, event = queues.put, [0], asyncio.Event()

    async def noting_put(alias: str, item: RelayItem, active: int | None = None) -> bool:
        done = await put(alias, item, active)
        seen[0] += 1
        if seen[0] >= count:
            event.set()
        return done

    queues.put = noting_put  # type: ignore[method-assign]
    return event


async def test_a_topic_that_cannot_be_opened_keeps_the_request_and_says_why(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        api.forum = False
        api.user_sends_text(USER, "/human")
        await api.wait_for_text(USER, "I can't reach them just now")
        await api.wait_for(lambda: any("the chat is not a forum" in t.lower() for t in main_thread_texts(api)))
        queued = relays_queued(bot, 1)
        left = api.user_sends_text(USER, "please call back")
        await asyncio.wait_for(queued.wait(), 5)  # the message is kept for staff: no reply marks that moment
        assert api.calls_to("copyMessage", STAFF) == []
        await bot.transport.handoffs.ticker.tick()  # still no topics: tried again, but staff are not told twice
        assert sum("could not open a topic" in t for t in main_thread_texts(api)) == 1
        api.forum = True  # staff turned Topics on
        await bot.transport.handoffs.ticker.tick()
        await api.wait_for_calls("createForumTopic")
        (copy,) = await api.wait_for_calls("copyMessage", chat_id=STAFF)
        assert copy.params["message_id"] == left and copy.params["message_thread_id"] == 501
        assert not any("something went wrong" in t for t in api.texts_to(USER))


async def test_live_chats_at_the_staff_groups_limit_never_delay_another_users_help(tmp_path: Path) -> None:
    # The staff group takes 20 posts a minute (the real rate limiter is on); 8 chats sending 6 messages
    # each is more than twice that, so relays queue up while everyone else is answered at once.
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", clock=Clock(WEDNESDAY_NOON)) as bot:
        chats = range(601, 609)
        for chat in chats:
            await open_case(bot, chat)
        for _ in range(6):
            for chat in chats:
                api.user_sends_text(chat, "a message for staff")
        api.user_sends_text(700, "/help")
        started = time.monotonic()
        await api.wait_for_text(700, "Tap a button, or type its number")
        assert time.monotonic() - started < 2.0
        assert len(api.calls_to("copyMessage", STAFF)) < 48  # the staff group's limit really was in the way


async def test_stopping_with_a_backlog_is_quick_and_the_backlog_is_sent_after_the_restart(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db, clock=Clock(WEDNESDAY_NOON)) as bot:
            thread = await open_case(bot)
            api.hold("copyMessage")  # the staff group is stuck: nothing gets through before the stop
            queued = relays_queued(bot, 5)
            sent = [api.user_sends_text(USER, f"message {n}") for n in range(5)]
            await asyncio.wait_for(queued.wait(), 5)  # all five stored, the first one in flight
            stopping = time.monotonic()  # leaving the block sets the stop event, as SIGTERM does
        assert time.monotonic() - stopping < 3.0
        api.release("copyMessage")
        async with running_bot(api, db, clock=Clock(WEDNESDAY_NOON)):
            await api.wait_for(
                lambda: [c.params["message_id"] for c in api.calls_to("copyMessage", STAFF)][-5:] == sent
            )
            assert all(c.params["message_thread_id"] == thread for c in api.calls_to("copyMessage", STAFF))


async def test_a_relay_held_by_flood_control_longer_than_the_rate_limiter_waits_is_still_sent(tmp_path: Path) -> None:
    limiter = AIORateLimiter(max_retries=1)  # gives up after one retry, so the relay queue must wait it out
    async with (
        FakeBotAPI() as api,
        running_bot(api, tmp_path / "bot.sqlite3", limiter, clock=Clock(WEDNESDAY_NOON)) as bot,
    ):
        thread = await open_case(bot)
        api.fail_next("copyMessage", status=429, retry_after=1, count=3)
        first = api.user_sends_text(USER, "first")
        second = api.user_sends_text(USER, "second")
        copies = await api.wait_for_calls("copyMessage", count=2, chat_id=STAFF, timeout=10)
        assert [c.params["message_id"] for c in copies] == [first, second]  # still in order
        assert not any("could not be copied" in t for t in staff_texts(api, thread))


async def test_sigterm_with_a_backlog_stops_python_m_bot_run_in_seconds_and_the_backlog_follows_the_restart(
    tmp_path: Path,
) -> None:
    async with FakeBotAPI() as api:
        async with bot_process(api, tmp_path) as bot:
            api.user_sends_text(USER, "/human")
            await api.wait_for_calls("createForumTopic", timeout=30)
            api.hold("copyMessage")  # the staff group takes nothing: relays back up
            sent = [api.user_sends_text(USER, f"message {n}") for n in range(5)]
            await api.wait_for(lambda: len(api.held_calls) == 1, timeout=30)  # the first relay is in flight
            stopping = time.monotonic()
            bot.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.process.wait(), 10)
            assert time.monotonic() - stopping < 5.0
        assert bot.process.returncode == 0, bot.log
        api.release("copyMessage")
        async with bot_process(api, tmp_path):
            await api.wait_for(
                lambda: [c.params["message_id"] for c in api.calls_to("copyMessage", STAFF)][-5:] == sent, timeout=30
            )
