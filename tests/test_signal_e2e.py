"""End to end on Signal: the real transport and JSON-RPC client against a fake signal-cli on a UNIX socket."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.flows.content import load_content
from bot.privacy import logredact
from bot.privacy.keys import Keyring
from bot.store import Store, open_store
from bot.transports.signal.render import utf16_length
from bot.transports.signal.rpc import Backoff, RpcError, SignalRpc
from bot.transports.signal.transport import TRANSPORT, SignalTransport
from tests.conftest import FLOWS, REPO
from tests.fakesignal import FakeSignalCli

ALICE = "5f0c8e2a-1b7d-4c3e-9a41-7d2e6b9c0a11"
BORIS = "a3d94b71-60e2-4f85-b1c7-2e9f08d4c6b2"
WEEK = 7 * 86_400


@dataclass
class Bot:
    fake: FakeSignalCli
    transport: SignalTransport
    store: Store
    db: Path
    sleeps: list[float] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    operator: io.StringIO = field(default_factory=io.StringIO)

    async def say(self, uuid: str, text: str, reply_fragment: str, **fields: object) -> str:
        """The user types `text`; returns the reply message containing `reply_fragment`."""
        before = len([t for t in self.fake.texts_to(uuid) if reply_fragment in t])
        self.fake.user_sends(uuid, text, **fields)
        return (await self.fake.wait_for_text(uuid, reply_fragment, before + 1)).text


@asynccontextmanager
async def running_bot(tmp_path: Path, flows_dir: Path = FLOWS) -> AsyncIterator[Bot]:
    # UNIX socket paths are limited to about 100 bytes, so the socket lives in a short temporary folder.
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    fake = await FakeSignalCli(folder / "s.sock").start()
    store = await open_store(tmp_path / "bot.sqlite3")
    conversations = Conversations(load_content(flows_dir, REPO / "locales"), store, Keyring(b"k" * 32))
    bot = Bot(fake, None, store, tmp_path / "bot.sqlite3")  # type: ignore[arg-type]

    async def no_wait(seconds: float) -> None:
        bot.sleeps.append(seconds)

    async def staff_note(text: str) -> None:
        bot.staff.append(text)

    bot.transport = SignalTransport(
        conversations,
        str(fake.path),
        sleep=no_wait,
        backoff=Backoff(0.01, 0.05),
        notify_staff=staff_note,
        operator_out=bot.operator,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(bot.transport.serve(stop))
    try:
        await fake.wait_for(lambda: fake.subscriptions == 1)
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.close()
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(tmp_path) as running:
        yield running


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, as the bot's own logging set-up would print it."""
    previous = logredact.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(previous)


# -- first contact ---------------------------------------------------------------------------------


async def test_first_contact_turns_on_disappearing_messages_and_says_so(bot: Bot) -> None:
    bot.fake.user_sends(ALICE, "hello")
    menu = await bot.fake.wait_for_text(ALICE, "Reply with a number:")
    assert bot.fake.calls("updateContact") == [{"recipient": ALICE, "expiration": WEEK}]
    texts = bot.fake.texts_to(ALICE)
    assert texts[0] == "To keep this chat private, messages here now disappear 7 days after they are sent."
    assert texts[1].startswith("Hi, I can help you find health services")
    assert menu.text.startswith("What can I help with?\n\nReply with a number:\n1. Testing and sexual health\n")
    assert "6. Language" in menu.text
    # Only the first message of a conversation sets the timer.
    await bot.say(ALICE, "1", "What would you like to know?")
    assert len(bot.fake.calls("updateContact")) == 1
    # Nothing was sent to a phone number: every send names the UUID.
    assert all(call["recipient"] == [ALICE] for call in bot.fake.calls("send"))


async def test_a_user_who_keeps_a_shorter_timer_keeps_it(bot: Bot) -> None:
    await bot.say(ALICE, "hello", "Reply with a number:", expiresInSeconds=3600)
    assert bot.fake.calls("updateContact") == []
    assert not any("disappear" in text for text in bot.fake.texts_to(ALICE))


async def test_first_contact_in_romanian_where_romanian_is_the_default(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    settings = flows / "settings.yaml"
    settings.write_text(settings.read_text().replace("default_language: en", "default_language: ro"))
    async with running_bot(tmp_path, flows) as bot:
        bot.fake.user_sends(ALICE, "salut")
        await bot.fake.wait_for_text(ALICE, "Răspunde cu un număr:")
        assert bot.fake.texts_to(ALICE)[0] == (
            "Ca acest chat să rămână privat, mesajele de aici dispar acum la 7 zile după ce sunt trimise."
        )


async def test_a_user_switches_language_by_number_then_by_name(bot: Bot) -> None:
    await bot.say(ALICE, "hello", "Reply with a number:")
    languages = await bot.say(ALICE, "6", "Which language would you like?")
    assert "2. Română" in languages
    romanian = await bot.say(ALICE, "română", "Răspunde cu un număr:")
    assert "1. " in romanian


# -- menus without buttons -------------------------------------------------------------------------


async def test_numbered_menu_walked_by_number_and_by_words(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    testing = await bot.say(ALICE, "1", "What would you like to know?")
    pep_label = next(line.split(". ", 1)[1] for line in testing.splitlines() if "PEP" in line)
    await bot.say(ALICE, pep_label, "PEP is medicine that can stop HIV")
    cards = await bot.fake.wait_for_text(ALICE, "NHS 111")
    # Bold service names, with offsets and lengths in UTF-16 code units.
    units = cards.text.encode("utf-16-le")
    bold = [
        units[int(s) * 2 : (int(s) + int(n)) * 2].decode("utf-16-le")
        for s, n, style in (x.split(":") for x in cards.styles)
    ]
    assert any(name.startswith("NHS 111") for name in bold) and all(style.endswith("BOLD") for style in cards.styles)
    back = await bot.say(ALICE, "back", "What would you like to know?")
    assert "Reply with a number:" in back


async def test_bold_offsets_count_utf16_units_after_an_emoji(bot: Bot) -> None:
    from bot.engine import Reply, ServiceCard
    from bot.transports.signal.render import render_reply

    cards = (
        ServiceCard("a", "First", "x", None, "💬 text", None, None),
        ServiceCard("b", "Zweite", "y", None, None, None, None),
    )
    message = render_reply(Reply((), services=cards, services_title="Places:"), "Reply:")[0]
    start, length, _ = message.styles()[1].split(":")
    prefix = message.text[: message.text.index("Zweite")]
    assert int(start) == utf16_length(prefix) == len(prefix) + 2 and int(length) == 6


async def test_text_that_matches_nothing_is_answered_without_talk_of_buttons(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    answer = await bot.say(ALICE, "qwzx", "Sorry, I didn't catch that.")
    assert answer.startswith("Sorry, I didn't catch that.\n\nReply with a number:\n1. ")
    assert "button" not in " ".join(bot.fake.texts_to(ALICE))


async def test_help_on_signal_speaks_of_numbers_not_buttons(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    answer = await bot.say(ALICE, "/help", "/forget – delete what this chat keeps about you")
    assert answer.startswith("Reply with the number of a choice.") and "Tap a button" not in answer


async def test_crisis_words_reach_the_crisis_help_at_once(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    await bot.say(ALICE, "1", "What would you like to know?")
    crisis = await bot.say(ALICE, "I was attacked last night", "999")
    assert "999" in crisis


async def test_with_signal_alone_asking_for_a_person_says_honestly_it_cannot_and_lists_help(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    await bot.say(ALICE, "3", "talking to a person isn't possible on Signal yet")
    cards = await bot.fake.wait_for_text(ALICE, "Samaritans")
    assert "I've asked a person" not in " ".join(bot.fake.texts_to(ALICE))
    assert "Reply with a number:" in cards.text
    # With no staff group (Signal alone) no case is opened that nobody could answer.
    assert await bot.store.open_cases() == []


# -- other kinds of message ------------------------------------------------------------------------


async def test_attachments_stickers_and_contacts_are_answered_like_on_telegram(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    bot.fake.push(bot.fake.envelope(ALICE, attachments=[{"contentType": "image/jpeg", "id": "x", "size": 10}]))
    photo = await bot.fake.wait_for_text(ALICE, "I can only read text messages")
    assert "or reply with a number" in photo.text and "tap a button" not in photo.text
    bot.fake.push(bot.fake.envelope(ALICE, sticker={"packId": "p", "stickerId": 1}))
    await bot.fake.wait_for_text(ALICE, "I can only read text messages", 2)
    bot.fake.push(bot.fake.envelope(ALICE, contacts=[{"name": {"display": "Someone"}}]))
    await bot.fake.wait_for_text(ALICE, "Please don't share your location, phone number or contacts")


async def test_reactions_receipts_typing_edits_and_timer_changes_get_no_answer(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    sends = len(bot.fake.calls("send"))
    fake = bot.fake
    fake.push(
        fake.envelope(
            ALICE, reaction={"emoji": "👍", "targetAuthorUuid": ALICE, "targetSentTimestamp": 1, "isRemove": False}
        )
    )
    fake.push(
        {**fake.envelope(ALICE), "receiptMessage": {"when": 1, "isDelivery": True, "isRead": False, "timestamps": [1]}}
    )
    fake.push({**fake.envelope(ALICE), "typingMessage": {"action": "STARTED", "timestamp": 1}})
    fake.push({**fake.envelope(ALICE), "editMessage": {"targetSentTimestamp": 1, "dataMessage": {"message": "edited"}}})
    fake.push(fake.envelope(ALICE, isExpirationUpdate=True, expiresInSeconds=3600))
    fake.push(fake.envelope(ALICE, remoteDelete={"timestamp": 1}))
    await bot.say(ALICE, "1", "What would you like to know?")  # handled after all of the above
    assert len(bot.fake.calls("send")) == sends + 1


async def test_the_bot_leaves_a_group_it_is_added_to_and_says_nothing_there(bot: Bot) -> None:
    group = {"groupId": "R3JvdXBJZEZvclRlc3Rz", "groupName": "a group", "revision": 1, "type": "DELIVER"}
    bot.fake.push(bot.fake.envelope(BORIS, message="hello group", groupInfo=group))
    await bot.fake.wait_for(lambda: bot.fake.calls("quitGroup"))
    assert bot.fake.calls("quitGroup") == [{"groupId": "R3JvdXBJZEZvclRlc3Rz"}]
    await bot.say(ALICE, "hi", "Reply with a number:")
    assert bot.fake.texts_to(BORIS) == [] and len(bot.fake.calls("quitGroup")) == 1


async def test_a_repeated_envelope_is_answered_once(bot: Bot) -> None:
    envelope = bot.fake.user_sends(ALICE, "hi")
    await bot.fake.wait_for_text(ALICE, "Reply with a number:")
    bot.fake.push(envelope)
    await bot.say(ALICE, "2", "What would you like advice about?")
    assert len([t for t in bot.fake.texts_to(ALICE) if t.startswith("Hi, I can help")]) == 1
    # The same timestamp from the user's other device is a different message.
    sends = len(bot.fake.calls("send"))
    bot.fake.push({**envelope, "sourceDevice": 2})
    await bot.fake.wait_for(lambda: len(bot.fake.calls("send")) > sends)


# -- /clear and /forget ----------------------------------------------------------------------------


async def test_clear_deletes_the_bots_own_messages_and_is_honest_about_the_users(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    await bot.say(ALICE, "1", "What would you like to know?")
    own = [s.timestamp for s in bot.fake.sent if s.recipient == ALICE]
    answer = await bot.say(ALICE, "/clear", "I can't delete yours")
    deleted = [call["targetTimestamp"] for call in bot.fake.calls("remoteDelete")]
    assert deleted == own
    assert all(call["recipient"] == [ALICE] for call in bot.fake.calls("remoteDelete"))
    assert "that I'm still allowed to delete" not in answer
    # The confirmation itself is the only message left to delete next time.
    await bot.say(ALICE, "/clear", "I can't delete yours")
    later = [call["targetTimestamp"] for call in bot.fake.calls("remoteDelete")][len(deleted) :]
    assert len(later) == 1 and later[0] not in own


async def test_forget_deletes_the_session(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    key = bot.transport.conversations.keyring.user_key(TRANSPORT, ALICE)
    assert await bot.store.load(key) is not None
    await bot.say(ALICE, "/forget", "I have deleted everything this chat kept about you")
    assert await bot.store.load(key) is None


# -- failures --------------------------------------------------------------------------------------


async def test_rate_limit_waits_as_long_as_signal_asks_then_sends(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    bot.fake.rate_limit_next(ALICE, retry_after=7)
    await bot.say(ALICE, "2", "What would you like advice about?")
    assert bot.sleeps == [7]
    assert bot.staff == [] and bot.operator.getvalue() == ""


async def test_proof_required_tells_operators_once_with_the_exact_command(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    token = "4e1f2a7c-challenge-token"
    bot.fake.rate_limit_next(ALICE, retry_after=30, token=token)
    await bot.say(ALICE, "2", "What would you like advice about?")
    bot.fake.rate_limit_next(ALICE, retry_after=None, token=token)
    bot.fake.user_sends(ALICE, "back")
    await bot.fake.wait_for(lambda: len(bot.fake.calls("send")) >= 4)
    command = f'signal-cli -a "$SIGNAL_ACCOUNT" submitRateLimitChallenge --challenge {token} --captcha CAPTCHA'
    assert bot.operator.getvalue().count(command) == 1
    assert len(bot.staff) == 1 and command in bot.staff[0]


async def test_untrusted_identity_is_trusted_and_the_message_sent_again_once(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    bot.fake.untrusted_next(ALICE)
    await bot.say(ALICE, "2", "What would you like advice about?")
    assert bot.fake.calls("trust") == [{"recipient": ALICE, "trustAllKnownKeys": True}]


async def test_partial_failure_is_seen_through_and_retried(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    bot.fake.partial_failure_next(ALICE)
    advice = len(bot.fake.calls("send"))
    await bot.say(ALICE, "2", "What would you like advice about?")
    assert len(bot.fake.calls("send")) == advice + 2 and len(bot.sleeps) == 1


async def test_an_unregistered_user_is_treated_as_gone(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    key = bot.transport.conversations.keyring.user_key(TRANSPORT, ALICE)
    bot.fake.unregistered_next(ALICE)
    sends = len(bot.fake.calls("send"))
    bot.fake.user_sends(ALICE, "/start")  # a reply of two messages: the second is never tried
    await bot.fake.wait_for(lambda: len(bot.fake.calls("send")) == sends + 1)
    await bot.say(BORIS, "hi", "Reply with a number:")  # a later message as a barrier
    assert await bot.store.load(key) is None
    assert len([c for c in bot.fake.calls("send") if c["recipient"] == [ALICE]]) == sends + 1


async def test_the_bot_reconnects_and_subscribes_again_when_the_socket_drops(bot: Bot) -> None:
    await bot.say(ALICE, "hi", "Reply with a number:")
    bot.fake.drop()
    bot.fake.user_sends(ALICE, "1")  # kept by the daemon while nobody is subscribed
    await bot.fake.wait_for(lambda: bot.fake.subscriptions == 2)
    await bot.fake.wait_for_text(ALICE, "What would you like to know?")
    assert bot.transport.rpc.connections == 2


# -- the JSON-RPC client on its own ----------------------------------------------------------------


async def test_replies_that_come_back_out_of_order_reach_their_callers(bot: Bot) -> None:
    rpc = bot.transport.rpc
    bot.fake.hold_replies(3)
    results = await asyncio.gather(
        rpc.call("version"),
        rpc.call("send", {"recipient": [ALICE], "message": "one"}),
        rpc.call("updateContact", {"recipient": ALICE, "expiration": 60}),
    )
    assert results[0] == {"version": "0.14.0"}
    assert results[1]["results"][0]["type"] == "SUCCESS" and results[2] == {}


async def test_errors_arrive_typed_with_code_message_and_data(bot: Bot) -> None:
    bot.fake.rate_limit_next(ALICE, retry_after=5)
    with pytest.raises(RpcError) as caught:
        await bot.transport.rpc.call("send", {"recipient": [ALICE], "message": "x"})
    assert caught.value.code == -5 and "rate limiting" in caught.value.message
    assert caught.value.data["response"]["results"][0]["retryAfterSeconds"] == 5
    with pytest.raises(RpcError) as unknown:
        await bot.transport.rpc.call("noSuchMethod")
    assert unknown.value.code == -32601


async def test_the_client_waits_with_backoff_until_the_daemon_is_up(tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    received: list[dict[str, object]] = []

    async def on_receive(result: dict[str, object]) -> None:
        received.append(result)

    rpc = SignalRpc(str(folder / "s.sock"), on_receive, Backoff(0.01, 0.02))
    stop = asyncio.Event()
    task = asyncio.create_task(rpc.run(stop))
    fake = await FakeSignalCli(folder / "s.sock").start()
    try:
        fake.user_sends(ALICE, "waiting")
        await fake.wait_for(lambda: fake.subscriptions == 1)
        assert await rpc.call("version") == {"version": "0.14.0"}
        await rpc.drain()
        assert len(received) == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)


# -- privacy ---------------------------------------------------------------------------------------


async def test_planted_identity_is_nowhere_in_the_database_wal_or_logs(tmp_path: Path, logs: io.StringIO) -> None:
    number, name, words = "+447700900461", "Zuzanna Qwertyplanted", "my rent is late and I feel xylophone sad"
    planted = {"uuid": ALICE, "number": number, "name": name, "words": words}
    async with running_bot(tmp_path) as bot:
        identity = {"number": number, "name": name}
        await bot.say(ALICE, "hi", "Reply with a number:", **identity)
        await bot.say(ALICE, words, "Sorry, I didn't catch that.", **identity)
        bot.fake.untrusted_next(ALICE)
        await bot.say(ALICE, "2", "What would you like advice about?", **identity)
        bot.fake.rate_limit_next(ALICE, retry_after=2)
        await bot.say(ALICE, "/clear", "I can't delete yours", **identity)
        await bot.say(ALICE, "I was attacked", "999", **identity)
        group = {"groupId": "R3JvdXBJZA==", "type": "DELIVER"}
        bot.fake.push(bot.fake.envelope(ALICE, message=words, groupInfo=group, number=number, name=name))
        await bot.fake.wait_for(lambda: bot.fake.calls("quitGroup"))
        files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3")]
        assert any(p.name.endswith("-wal") for p in files)
        contents = b"".join(p.read_bytes() for p in files)
    contents += b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3"))
    for what, value in planted.items():
        assert value.encode() not in contents, what
        assert value not in logs.getvalue(), what
    assert "subscribed to signal-cli" in logs.getvalue()  # the logs were captured
    rows = sqlite3.connect(tmp_path / "bot.sqlite3").execute("SELECT count(*) FROM sessions").fetchone()
    assert rows == (1,)
