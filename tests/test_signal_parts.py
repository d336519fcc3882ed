"""The Signal transport's pure parts: rendering, failure reading, the in-memory windows, backoff."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.engine import Button, Command, Media, Reply, State, Text, step
from bot.flows import FlowSet
from bot.transports.signal.inbound import SeenWindow, inbound_for
from bot.transports.signal.render import (
    MAX_MESSAGE,
    render_reply,
    signal_reply,
    split_text,
    utf16_length,
)
from bot.transports.signal.rpc import Backoff, RpcError, SignalRpc
from bot.transports.signal.send import DELETABLE_FOR, Failure, SentStamps, failure_of_error, first_failure
from tests.fakesignal import FakeSignalCli

UUID = "5f0c8e2a-1b7d-4c3e-9a41-7d2e6b9c0a11"


def test_utf16_length_counts_emoji_outside_the_basic_plane_as_two() -> None:
    assert utf16_length("abc") == 3 and utf16_length("💬") == 2 and utf16_length("☎") == 1


def test_long_text_is_split_at_paragraphs_and_every_piece_fits() -> None:
    text = "\n\n".join(["word " * 150] * 5)
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(piece) <= MAX_MESSAGE for piece in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_choices_follow_the_last_part_under_the_reply_line() -> None:
    reply = Reply(("One.", "Two?"), (Button("Yes", "n", "c:0"), Button("No", "n", "c:1")))
    messages = render_reply(reply, "Reply with a number:")
    assert [m.text for m in messages] == ["One.", "Two?\n\nReply with a number:\n1. Yes\n2. No"]


def test_the_crisis_page_on_signal_numbers_talk_to_a_person_first(shipped_flows: FlowSet) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    outcome = step(shipped_flows, State(locale="en"), Text("I'm in danger"), now)
    assert outcome.reply.urgent
    *_, last = signal_reply(shipped_flows, outcome.reply, "en")
    assert "NHS 24" in last.text  # the cards come in the same message, before the choices
    assert last.text.split("Reply with a number:\n", 1)[1].startswith("1. Talk to a person now\n")


def test_a_reply_of_only_choices_is_one_message() -> None:
    (message,) = render_reply(Reply((), (Button("Menu", "n", "menu"),)), "Reply:")
    assert message.text == "Reply:\n1. Menu"


def test_what_a_data_message_means() -> None:
    assert inbound_for({"message": " /Clear now "}) == Command("clear", "now")
    assert inbound_for({"message": "/menu@signposting_bot"}) == Command("menu")  # as every transport reads it
    assert inbound_for({"message": "/"}) == Text("/")
    assert inbound_for({"message": "hello"}) == Text("hello")
    assert inbound_for({"message": "look", "attachments": [{"contentType": "image/png"}]}) == Media("photo")
    assert inbound_for({"attachments": [{"contentType": "audio/aac"}]}) == Media("voice")
    assert inbound_for({"attachments": [{"contentType": "application/pdf"}]}) == Media("document")
    assert inbound_for({"contacts": [{}], "message": "x"}) == Media("contact")
    assert inbound_for({"sticker": {"packId": "p"}}) == Media("sticker")
    assert inbound_for({"message": None}) is None  # e.g. a profile-key update: nothing to answer
    assert inbound_for({"message": "   "}) is None


def test_every_recipient_result_is_read() -> None:
    ok = {"recipientAddress": {"uuid": UUID}, "type": "SUCCESS"}
    bad = {"recipientAddress": {"uuid": UUID}, "type": "RATE_LIMIT_FAILURE", "retryAfterSeconds": 4, "token": "t"}
    assert first_failure({"timestamp": 1, "results": [ok]}) is None
    assert first_failure({"timestamp": 1, "results": [ok, bad]}) == Failure("RATE_LIMIT_FAILURE", 4, "t")


def test_error_codes_mean_what_signal_cli_says() -> None:
    assert failure_of_error(RpcError(-5, "rate", None)) == Failure("RATE_LIMIT_FAILURE")
    assert failure_of_error(RpcError(-4, "untrusted", None)).kind == "IDENTITY_FAILURE"
    assert failure_of_error(RpcError(-1, "The user x is not registered.", None)).kind == "UNREGISTERED_FAILURE"
    assert failure_of_error(RpcError(-1, "Sending empty message is not allowed", None)).kind == "ERROR -1"
    assert failure_of_error(RpcError(-3, "io", None)).kind == "IO_ERROR"


def test_rpc_errors_keep_signal_clis_message_out_of_their_text() -> None:
    error = RpcError(-1, f"The user {UUID} is not registered.", None)
    assert UUID not in str(error) and UUID not in repr(error.args)


def test_the_seen_window_is_bounded() -> None:
    seen = SeenWindow(size=3)
    assert all(seen.first_time((b"k", 1, n)) for n in range(5))
    assert not seen.first_time((b"k", 1, 4))
    assert seen.first_time((b"k", 1, 0))  # long forgotten


def test_only_recent_messages_are_offered_for_deletion_and_only_once() -> None:
    stamps = SentStamps(per_user=2)
    stamps.add(b"k", 1, now=0.0)
    stamps.add(b"k", 2, now=100.0)
    stamps.add(b"k", 3, now=200.0)  # the oldest is dropped: at most per_user are kept
    assert stamps.take(b"k", now=DELETABLE_FOR + 150.0) == [3]
    assert stamps.take(b"k", now=DELETABLE_FOR + 150.0) == []


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = Backoff(0.5, 4.0).delays()
    assert [next(delays) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


async def test_lines_far_larger_than_asyncios_default_limit_arrive() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    fake = await FakeSignalCli(folder / "s.sock").start()
    got: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    rpc = SignalRpc(str(fake.path), got.put, Backoff(0.01, 0.02))
    stop = asyncio.Event()
    task = asyncio.create_task(rpc.run(stop))
    try:
        big = "x" * 2_000_000  # an attachment's base64 can be this long; asyncio's default is 64 KiB
        fake.push(fake.envelope(UUID, message="hi", attachments=[{"contentType": "image/png", "data": big}]))
        result = await asyncio.wait_for(got.get(), 10)
        assert result["envelope"]["dataMessage"]["attachments"][0]["data"] == big  # type: ignore[index]
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_line_over_the_limit_is_dropped_and_the_next_one_still_read() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sig", dir="/tmp"))
    fake = await FakeSignalCli(folder / "s.sock").start()
    got: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    rpc = SignalRpc(str(fake.path), got.put, Backoff(0.01, 0.02), limit=4096)
    stop = asyncio.Event()
    task = asyncio.create_task(rpc.run(stop))
    try:
        await fake.wait_for(lambda: fake.subscriptions == 1)
        fake.push(fake.envelope(UUID, message="y" * 10_000))
        fake.push(fake.envelope(UUID, message="small"))
        result = await asyncio.wait_for(got.get(), 10)
        assert result["envelope"]["dataMessage"]["message"] == "small"  # type: ignore[index]
        assert await rpc.call("version") == {"version": "0.14.0"}
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await fake.close()
        shutil.rmtree(folder, ignore_errors=True)
