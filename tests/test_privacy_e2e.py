"""Privacy end to end: after a real conversation, nothing on disk or in the logs identifies the user."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sqlite3
import struct
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.engine import State
from bot.flows.content import load_content
from bot.privacy import logredact
from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.transports.telegram.app import TelegramTransport
from tests.conftest import FLOWS, REPO
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, bot_process, running_bot

CHAT = 987654321
NAMES = {"first_name": "Zuzanna", "last_name": "Qwertyplanted", "username": "zq_planted_user"}
PHONE, PHONE_INTL = "07700 900461", "+447700900461"
WORDS = "my rent is late and I feel xylophone sad"
LATER = "the xylophone thing again"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as the bot's own logging set-up would print it."""
    previous = logredact.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "telegram", "httpx", "httpcore", "bot")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.setLogRecordFactory(previous)


def planted_values(api: FakeBotAPI) -> dict[str, bytes]:
    values = {
        v: v.encode() for v in (*NAMES.values(), PHONE, PHONE_INTL, PHONE.replace(" ", ""), WORDS, LATER, api.token)
    }
    values["chat id as text"] = str(CHAT).encode()
    values["chat id as a 4-byte integer"] = struct.pack(">i", CHAT)
    values["chat id as an 8-byte integer"] = struct.pack(">q", CHAT)
    return values


def files_of(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


async def converse(api: FakeBotAPI, *, close_case: bool) -> None:
    """A user with a real name and username talks, types a number, shares a contact, talks to staff."""
    user = api.user(CHAT, "en", **NAMES)
    api.user_sends_text(CHAT, "/start", user=user)
    api.user_sends_text(CHAT, WORDS, user=user)
    api.user_sends_text(CHAT, f"call me on {PHONE}", user=user)
    api.user_sends(CHAT, "contact", user=user, contact={"phone_number": PHONE_INTL, **NAMES})
    await api.wait_for_text(CHAT, "Please don't share your location")
    await api.wait_for_text(CHAT, "don't need to give me a phone number")
    api.user_sends_text(CHAT, "/human", user=user)
    (topic,) = await api.wait_for_calls("createForumTopic")
    api.user_sends_text(CHAT, LATER, user=user)
    await api.wait_for_calls("copyMessage", chat_id=STAFF)
    thread = 501
    api.group_message(STAFF, "Hello, how can I help?", thread_id=thread)
    await api.wait_for_text(CHAT, "Hello, how can I help?")
    if close_case:
        api.group_message(STAFF, "/close", thread_id=thread)
        await api.wait_for_text(CHAT, "The chat with our team has ended")
        api.user_sends_text(CHAT, "/forget", user=user)
        await api.wait_for_text(CHAT, "I have deleted everything")
    assert all(v not in topic.params["name"] for v in NAMES.values())


def assert_nothing_planted(found_in: dict[str, bytes], planted: dict[str, bytes]) -> None:
    for where, content in found_in.items():
        for what, value in planted.items():
            assert value not in content, f"{what} found in {where}"


async def test_planted_identity_is_nowhere_on_disk_or_in_logs_after_a_closed_case_and_forget(
    tmp_path: Path, logs: io.StringIO
) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db):
            await converse(api, close_case=True)
            during = files_of(db)  # the WAL as it is while the bot runs
        after = files_of(db)
        planted = planted_values(api)
    assert "bot.sqlite3" in after and "bot.sqlite3-wal" in during
    assert "<token>" in logs.getvalue() and "<number>" in logs.getvalue()  # they were logged, and masked
    assert_nothing_planted(
        {**{f"{k} (running)": v for k, v in during.items()}, **after, "logs": logs.getvalue().encode()}, planted
    )
    store = await open_store(db)
    try:
        assert await store.session_count() == 0 and await store.open_cases() == []
    finally:
        await store.close()


async def test_with_the_case_still_open_only_the_sealed_link_exists(tmp_path: Path, logs: io.StringIO) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db):
            await converse(api, close_case=False)
            during = files_of(db)
        after = files_of(db)
        planted = planted_values(api)
    assert_nothing_planted(
        {**{f"{k} (running)": v for k, v in during.items()}, **after, "logs": logs.getvalue().encode()}, planted
    )
    store = await open_store(db)
    try:
        (case,) = await store.open_cases()
    finally:
        await store.close()
    # The one reversible link: it opens only with the secret (the tests' keyring) and the case's alias.
    assert Keyring(b"k" * 32).unseal_chat_id(case.sealed_chat, case.alias.encode()) == CHAT


async def test_a_flood_from_one_user_is_slowed_politely_without_slowing_anyone_else(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        flooder, other = 111, 222
        async with running_bot(api, tmp_path / "bot.sqlite3"):
            for n in range(300):
                api.user_sends_text(flooder, f"spam {n}")
            api.user_sends_text(other, "/start")
            await api.wait_for_text(other, "What can I help with?", timeout=10)
            await api.wait_for_text(flooder, "That's a lot of messages at once")
            await api.wait_for(lambda: api.pending_updates == 0, what="the bot to take every update")
        # A stopped bot has handled every update it took: whatever the flood got, it has got by now.
        texts = api.texts_to(flooder)
        assert sum("That's a lot of messages" in t for t in texts) == 1
        # The first burst is answered (welcome is two messages, the rest one each); the rest is not.
        assert len(texts) <= 1 + 21 + 1


async def test_idle_sessions_are_purged_once_a_day_while_the_bot_runs(tmp_path: Path) -> None:
    flows = load_content(FLOWS, REPO / "locales")
    store = await open_store(tmp_path / "bot.sqlite3")
    now = [datetime(2026, 11, 25, 12, tzinfo=UTC)]
    conversations = Conversations(flows, store, Keyring(b"k" * 32), clock=lambda: now[0])
    transport = TelegramTransport(conversations, STAFF)
    try:
        today = date(2026, 11, 25).toordinal()
        old, recent = b"o" * 32, b"r" * 32
        await store.record(old, State("main.menu", "en", (), today - 31), (), today - 31)
        await store.record(recent, State("main.menu", "en", (), today - 29), (), today - 29)
        assert await transport.purge_daily() == 1
        assert await store.load(old) is None and await store.load(recent) is not None
        assert await transport.purge_daily() == 0  # once a day only
        now[0] += timedelta(days=2)
        assert await transport.purge_daily() == 1  # the other one is now 31 days idle
    finally:
        await store.close()


async def test_a_changed_secret_orphans_an_open_case_without_crashing(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db, secret=b"a" * 32):
            api.user_sends_text(CHAT, "/human")
            await api.wait_for_calls("createForumTopic")
        async with running_bot(api, db, secret=b"b" * 32):
            api.group_message(STAFF, "are you still there?", thread_id=501)
            await api.wait_for(
                lambda: any("can't reach the user any more" in (m.get("text") or "") for m in api.sent_to(STAFF))
            )
            assert not any("still there" in t for t in api.texts_to(CHAT))
            api.user_sends_text(CHAT, "/start")  # the old session is orphaned: a fresh start, no error
            await api.wait_for(lambda: api.texts_to(CHAT).count("What can I help with?") == 1)
            assert not any("went wrong" in t for t in api.texts_to(CHAT))


async def test_forget_mid_case_deletes_its_topic_and_tells_staff_only_that_in_the_main_thread(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        api.user_sends_text(CHAT, "/human", user=api.user(CHAT, "en", **NAMES))
        (_topic,) = await api.wait_for_calls("createForumTopic")
        api.user_sends_text(CHAT, "delete my data")
        await api.wait_for_text(CHAT, "I have deleted everything")
        (_deleted,) = await api.wait_for_calls("deleteForumTopic")
        await api.wait_for(lambda: any("asked to be forgotten" in (m.get("text") or "") for m in api.sent_to(STAFF)))
        staff_side = json.dumps([c.params for c in api.calls if c.params.get("chat_id") == STAFF])
        assert "delete my data" not in staff_side and str(CHAT) not in staff_side
        notice = [m for m in api.sent_to(STAFF) if "forgotten" in (m.get("text") or "")]
        assert all("message_thread_id" not in m for m in notice)  # said in the main thread, not in a topic
        store = bot.transport.conversations.store
        assert await store.open_cases() == [] and await store.session_count() == 0


async def test_a_button_pressed_by_someone_else_only_ever_moves_their_own_conversation(tmp_path: Path) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as bot:
        alice, bob = 401, 402
        api.user_sends_text(alice, "/start")
        await api.wait_for_text(alice, "What can I help with?")
        api.user_sends_text(alice, "advice and support")
        await api.wait_for_text(alice, "What would you like advice about?")
        _, alices_buttons = bot.last_keyboard(alice)
        api.user_presses(bob, dict(alices_buttons)["Staying safe at work"], message_id=3)  # Alice's data, Bob's chat
        await api.wait_for_text(bob, "Some things that help")
        conversations = bot.transport.conversations
        store, keyring = conversations.store, conversations.keyring
        alice_state = await store.load(keyring.user_key("telegram", alice))
        bob_state = await store.load(keyring.user_key("telegram", bob))
        assert alice_state is not None and alice_state.node == "advice.menu"
        assert bob_state is not None and bob_state.node == "advice.safety"
        assert not any("Some things that help" in t for t in api.texts_to(alice))


# -- nothing left after a deletion: the raw database, WAL and SHM files --------------------------


@pytest.fixture
def this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bot` in a subprocess runs this checkout's code, not whichever one the venv has installed."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def case_traces(db: Path) -> dict[str, bytes]:
    """The bytes an open case leaves in the database: its alias, sealed chat id and the user's key."""
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        ((alias, sealed, key),) = reader.execute("SELECT alias, sealed_chat, user_key FROM cases").fetchall()
    finally:
        reader.close()
    return {"the case alias": alias.encode(), "the sealed chat id": bytes(sealed), "the user key": bytes(key)}


def found(db: Path, traces: dict[str, bytes]) -> list[str]:
    return [
        f"{what} in {where}"
        for where, content in files_of(db).items()
        for what, value in traces.items()
        if value in content
    ]


async def test_a_forgotten_case_leaves_the_database_wal_and_shm_within_seconds_while_the_bot_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api, running_bot(api, db) as bot:
        api.user_sends_text(CHAT, "/human", user=api.user(CHAT, "en", **NAMES))
        await api.wait_for_calls("sendMessage", chat_id=STAFF)  # the note in the new topic: the case is saved
        traces = case_traces(db)
        assert found(db, traces)  # the search finds the case while it is open
        api.user_sends_text(CHAT, "delete my data")
        await api.wait_for_text(CHAT, "I have deleted everything")
        started = time.monotonic()
        await bot.transport.conversations.store.scrubbed()
        assert time.monotonic() - started < 5
        assert found(db, traces) == []
        assert (tmp_path / "bot.sqlite3-wal").stat().st_size == 0


@pytest.mark.usefixtures("this_checkout")
async def test_after_forget_and_a_sigkill_the_restarted_bot_leaves_no_trace_of_the_case(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with bot_process(api, tmp_path) as first:
            api.user_sends_text(CHAT, "/human", user=api.user(CHAT, "en", **NAMES))
            await api.wait_for_calls("sendMessage", chat_id=STAFF, timeout=30)
            traces = case_traces(db)
            api.user_sends_text(CHAT, "delete my data")
            await api.wait_for_text(CHAT, "I have deleted everything", timeout=10)
            first.process.kill()  # no clean stop: whatever the files hold now stays there
            await first.process.wait()
        registered = len(api.calls_to("setMyCommands"))
        async with bot_process(api, tmp_path):
            await api.wait_for_calls("setMyCommands", count=registered + 1, timeout=30)  # the second start is up
            assert found(db, traces) == []
            assert (tmp_path / "bot.sqlite3-wal").stat().st_size == 0
        planted = planted_values(api)
    assert_nothing_planted(files_of(db), planted)


@pytest.mark.usefixtures("this_checkout")
async def test_python_m_bot_run_scrubs_a_forgotten_case_from_every_file_within_seconds(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with bot_process(api, tmp_path) as bot:
            api.user_sends_text(CHAT, "/human")
            await api.wait_for_calls("sendMessage", chat_id=STAFF, timeout=30)
            traces = case_traces(db)
            for n in range(5):  # the user keeps the WAL busy with the case in it
                api.user_sends_text(CHAT, f"message {n}")
            await api.wait_for_calls("copyMessage", count=5, chat_id=STAFF, timeout=10)
            api.user_sends_text(CHAT, "delete my data")
            await api.wait_for_text(CHAT, "I have deleted everything", timeout=10)
            started = time.monotonic()
            while found(db, traces) and time.monotonic() - started < 10:
                await asyncio.sleep(0.05)  # watching another process's files: there is no event to wait on
            took = time.monotonic() - started
            assert found(db, traces) == [], f"still there after {took:.1f}s"
            assert took < 5
        assert bot.process.returncode == 0, bot.log
