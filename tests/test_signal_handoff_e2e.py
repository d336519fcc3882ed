"""Handoff from Signal end to end: the real Signal transport against the fake signal-cli, and the real
Telegram Application against the fake Bot API, sharing one staff group as `python -m bot run` does."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.transports.signal.rpc import Backoff
from bot.transports.signal.transport import TRANSPORT, SignalTransport
from tests.fakebotapi import FakeBotAPI
from tests.fakesignal import FakeSignalCli
from tests.test_signal_e2e import logs  # noqa: F401 - the fixture that captures every log record
from tests.test_telegram_e2e import STAFF, Running, running_bot

ALICE = "5f0c8e2a-1b7d-4c3e-9a41-7d2e6b9c0a11"
NUMBER, NAME = "+447700900461", "Zuzanna Qwertyplanted"
IDENTITY = {"number": NUMBER, "name": NAME}
TUESDAY_MORNING = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # staff are in
STAFF_IDENTITY = ("Staffer", "Realname", "staff_account", "1001")


@dataclass
class Both:
    api: FakeBotAPI
    telegram: Running
    signal: FakeSignalCli
    transport: SignalTransport
    db: Path

    async def say(self, text: str, fragment: str, **fields: Any) -> str:
        """Alice types `text` on Signal; returns the next message to her containing `fragment`."""
        before = len([t for t in self.signal.texts_to(ALICE) if fragment in t])
        self.signal.user_sends(ALICE, text, **IDENTITY, **fields)
        return (await self.signal.wait_for_text(ALICE, fragment, before + 1)).text

    def topic(self, thread: int) -> list[str]:
        """What the bot posted in a case topic."""
        return [m.get("text") or "" for m in self.api.sent_to(STAFF, thread)]

    async def open_case(self) -> int:
        """Alice asks for a person; returns the topic's thread id."""
        before = len(self.api.calls_to("createForumTopic"))
        await self.say("/human", "send /end")
        (*_, call) = await self.api.wait_for_calls("createForumTopic", count=before + 1)
        assert call.params["chat_id"] == STAFF
        thread = 501 + before
        await self.api.wait_for(lambda: any(t.startswith("Case ") for t in self.topic(thread)))
        return thread


async def no_wait(seconds: float) -> None:
    """Signal's retry waits, skipped."""


@asynccontextmanager
async def both_running(tmp_path: Path) -> AsyncIterator[Both]:
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))  # UNIX socket paths must stay short
    fake = await FakeSignalCli(folder / "s.sock").start()
    db = tmp_path / "bot.sqlite3"
    try:
        async with FakeBotAPI() as api, running_bot(api, db, clock=lambda: TUESDAY_MORNING) as telegram:
            handoffs = telegram.transport.handoffs
            transport = SignalTransport(
                telegram.transport.conversations,
                str(fake.path),
                sleep=no_wait,
                backoff=Backoff(0.01, 0.05),
                handoffs=handoffs,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(transport.serve(stop))
            try:
                await fake.wait_for(lambda: fake.subscriptions == 1)
                yield Both(api, telegram, fake, transport, db)
            finally:
                stop.set()
                await asyncio.wait_for(task, 10)
    finally:
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_signal_user_talks_with_staff_through_the_telegram_staff_group(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        await bot.say("hi", "Reply with a number:")
        thread = await bot.open_case()
        queued = bot.signal.texts_to(ALICE)[-1]
        assert "You are number 1 in the queue" in queued
        # No numbered End chat: whatever Alice types now goes to staff, so she is told the command.
        assert queued.endswith("To end the chat with our team, send /end.") and "1. End chat" not in queued

        bot.api.group_message(STAFF, "/alias Sam", thread_id=thread)
        await bot.api.wait_for(lambda: any("now sees you as" in t for t in bot.topic(thread)))
        bot.api.group_message(STAFF, "Hello, I'm here to help", thread_id=thread)
        reply = await bot.signal.wait_for_text(ALICE, "Hello, I'm here to help")
        # The first reply claims the case: Alice hears who joined, by alias, before the reply itself.
        assert bot.signal.texts_to(ALICE)[-2] == "Sam from our team has joined the chat."
        assert reply.text == "Sam\nHello, I'm here to help" and reply.styles == ["0:3:BOLD"]
        everything_to_alice = json.dumps(bot.signal.calls("send"))
        for staff_identity in STAFF_IDENTITY:
            assert staff_identity not in everything_to_alice

        bot.signal.user_sends(ALICE, "The condom broke last night", **IDENTITY)
        await bot.api.wait_for(lambda: "The condom broke last night" in bot.topic(thread))
        # Posted by the bot as plain text, like a copied Telegram text: nothing says where it came from.
        assert bot.api.calls_to("forwardMessage") == [] and bot.api.calls_to("copyMessage") == []

        bot.api.group_message(STAFF, "/close", thread_id=thread)
        closed = await bot.signal.wait_for_text(ALICE, "The chat with our team has ended")
        assert "Reply with a number:\n1. Main menu\n2. 👍 This helped" in closed.text
        await bot.api.wait_for_calls("closeForumTopic")
        # The numbered choices sent after the case answer like the buttons on Telegram.
        await bot.say("2", "Thank you. Your answer helps us make this better.")

        staff_side = json.dumps([c.params for c in bot.api.calls if c.params.get("chat_id") == STAFF])
        for planted in (ALICE, NUMBER, NAME):
            assert planted not in staff_side


async def test_a_signal_users_attachment_is_not_copied_and_staff_are_told(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        photo = {"contentType": "image/jpeg", "id": "x", "size": 10}
        bot.signal.push(bot.signal.envelope(ALICE, message="this is the rash", attachments=[photo], **IDENTITY))
        await bot.api.wait_for(lambda: any("[the user sent a photo;" in t for t in bot.topic(thread)))
        note = next(t for t in bot.topic(thread) if "[the user sent a photo;" in t)
        assert note.endswith("Ask them to put it in words if it matters.]\nthis is the rash")
        # Staff send a photo back: only its caption can reach Signal, and staff are told so.
        bot.api.group_message(
            STAFF,
            thread_id=thread,
            caption="Like this?",
            photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}],
        )
        await bot.signal.wait_for_text(ALICE, "Support worker\nLike this?")
        await bot.api.wait_for(lambda: any(t.startswith("This user can only get text") for t in bot.topic(thread)))


async def test_an_edit_during_the_case_reaches_staff_marked_as_an_edit(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        sent = bot.signal.user_sends(ALICE, "see you at 3", **IDENTITY)
        await bot.api.wait_for(lambda: "see you at 3" in bot.topic(thread))
        edit = {"targetSentTimestamp": sent["timestamp"], "dataMessage": {"message": "see you at 4"}}
        bot.signal.push({**bot.signal.envelope(ALICE, **IDENTITY), "editMessage": edit})
        await bot.api.wait_for(lambda: any(t.endswith("It now reads:\nsee you at 4") for t in bot.topic(thread)))


async def test_a_command_mid_chat_says_the_chat_is_open_and_how_to_end_it(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        await bot.open_case()
        answer = await bot.say("/menu", "still open")
        assert answer.endswith(
            "Your chat with our team is still open: anything you type goes to them. To close it, send /end."
        )
        assert "Reply with a number" not in answer and "Tap End chat" not in answer
        left = await bot.say("/end", "You've left the chat with our team")
        assert left.endswith("Reply with a number:\n1. Main menu")
        await bot.api.wait_for(lambda: any("The user has left this chat." in t for t in bot.api.texts_to(STAFF)))
        await bot.say("1", "What can I help with?")  # the number picks Main menu, not the step before the chat


async def test_forget_from_signal_closes_the_case_and_deletes_its_topic(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        key = bot.transport.conversations.keyring.user_key(TRANSPORT, ALICE)
        await bot.say("/forget", "I have deleted everything this chat kept about you")
        (deleted,) = await bot.api.wait_for_calls("deleteForumTopic")
        assert deleted.params["message_thread_id"] == thread
        store = bot.transport.conversations.store
        assert await store.case_for_user(key) is None and await store.load(key) is None
        await bot.api.wait_for(lambda: any("asked to be forgotten" in t for t in bot.api.texts_to(STAFF)))


async def test_a_case_survives_a_restart_of_both_transports(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
    async with both_running(tmp_path) as bot:
        bot.api.group_message(STAFF, "after the restart", thread_id=thread)
        await bot.signal.wait_for_text(ALICE, "Support worker\nafter the restart")
        bot.signal.user_sends(ALICE, "still here", **IDENTITY)
        await bot.api.wait_for(lambda: "still here" in bot.topic(thread))


async def test_the_database_and_logs_never_hold_the_signal_users_uuid_number_or_name(
    tmp_path: Path,
    logs: io.StringIO,  # noqa: F811 - the imported fixture
) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        words = "my xylophone landlord is at the door"
        bot.signal.user_sends(ALICE, words, **IDENTITY)
        await bot.api.wait_for(lambda: words in bot.topic(thread))
        files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3")]
        contents = b"".join(p.read_bytes() for p in files)
        for planted in (ALICE, NUMBER, NAME, words):
            assert planted.encode() not in contents, planted
            assert planted not in logs.getvalue(), planted
        assert "subscribed to signal-cli" in logs.getvalue()  # the logs were captured
        store = bot.transport.conversations.store
        (case,) = await store.open_cases()
        # The sealed link opens to the Signal address, and only with the secret.
        assert (
            bot.transport.conversations.keyring.unseal_address(case.sealed_chat, case.alias.encode())
            == f"signal:{ALICE}"
        )


async def test_after_forget_nothing_of_the_signal_case_is_left_in_any_file(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        words = "my xylophone landlord is at the door"
        bot.signal.user_sends(ALICE, words, **IDENTITY)
        await bot.api.wait_for(lambda: words in bot.topic(thread))
        store = bot.transport.conversations.store
        (case,) = await store.open_cases()
        await bot.say("/forget", "I have deleted everything this chat kept about you")
        await bot.api.wait_for_calls("deleteForumTopic")
        await store.scrubbed()
        files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3")]
        contents = b"".join(p.read_bytes() for p in files)
        for planted in (ALICE.encode(), NUMBER.encode(), NAME.encode(), words.encode(), case.sealed_chat):
            assert planted not in contents


async def test_crisis_words_mid_chat_reach_staff_flagged_and_the_user_gets_crisis_help_at_once(tmp_path: Path) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        await bot.say("I was attacked last night", "999")
        # Typed numbers would go to staff now, so the crisis page's choices are not numbered; the last
        # thing said, after the crisis services, is that the chat is still open and how to end it.
        still = await bot.signal.wait_for_text(ALICE, "still open")
        assert still.text.endswith("To close it, send /end.") and "Reply with a number" not in still.text
        assert still.text.startswith("Places that can help:\n\n999\n")
        await bot.api.wait_for(
            lambda: any(t.startswith("⚠ The user's last message has crisis words") for t in bot.topic(thread))
        )
        topic = bot.topic(thread)
        assert topic.index("I was attacked last night") < next(i for i, t in enumerate(topic) if t.startswith("⚠"))


async def test_a_staff_reply_waits_out_signals_rate_limit_and_a_user_gone_from_signal_closes_the_case(
    tmp_path: Path,
) -> None:
    async with both_running(tmp_path) as bot:
        thread = await bot.open_case()
        bot.signal.rate_limit_next(ALICE, retry_after=4)
        bot.api.group_message(STAFF, "first reply", thread_id=thread)
        await bot.signal.wait_for_text(ALICE, "Support worker\nfirst reply")
        bot.signal.unregistered_next(ALICE)
        bot.api.group_message(STAFF, "second reply", thread_id=thread)
        await bot.api.wait_for(lambda: any(t.startswith("The user has blocked the bot") for t in bot.topic(thread)))
        await bot.api.wait_for_calls("closeForumTopic")
        assert await bot.transport.conversations.store.open_cases() == []
        assert not any("second reply" in t for t in bot.signal.texts_to(ALICE))
