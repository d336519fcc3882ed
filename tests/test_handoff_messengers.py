"""Each case's user is reached through the messenger of their address's transport; staff stay at one desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.engine import Command, Outcome, Reply, Text
from bot.handoff.relays import RelayItem
from tests.test_handoff import Bench, make_bench


@pytest.fixture
async def desk_bench(tmp_path: Path) -> AsyncIterator[Bench]:
    made = await make_bench(tmp_path)
    yield made
    await made.handoffs.conversations.store.close()


UUID = "5f0c8e2a-1b7d-4c3e-9a41-7d2e6b9c0a11"


@dataclass
class RecordingMessenger:
    """Stands in for Signal's messenger: records what reaches the user and what goes into topics."""

    told: list[tuple[str, Reply, str]] = field(default_factory=list)
    copied: list[tuple[str, int, str]] = field(default_factory=list)
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    unsent_note: str | None = None

    async def tell_user(self, user: str, reply: Reply, locale: str) -> None:
        self.told.append((user, reply, locale))

    async def copy_in(self, user: str, item: RelayItem, thread_id: int) -> None:
        self.copied.append((user, thread_id, item.text or ""))

    async def send_out(self, user: str, item: RelayItem, staff_alias: str) -> str | None:
        self.sent.append((user, staff_alias, item.text or ""))
        return self.unsent_note


async def signal_user(bench: Bench, inbound: Text | Command, text: str | None = None) -> list[Reply]:
    """A Signal user's turn; returns what the engine side replied."""
    replies: list[Reply] = []

    async def deliver(outcome: Outcome) -> None:
        replies.append(outcome.reply)

    relay = RelayItem("in", 1, text or getattr(inbound, "text", None))
    await bench.handoffs.turns.take_turn("signal", UUID, inbound, "en", relay, deliver)
    await bench.handoffs.queues.wait_idle()
    return replies


async def test_a_signal_case_and_a_telegram_case_are_each_reached_through_their_own_messenger(
    desk_bench: Bench,
) -> None:
    bench = desk_bench
    signal = RecordingMessenger()
    bench.handoffs.messengers["signal"] = signal
    await bench.user(301, Command("human"))
    await signal_user(bench, Command("human"))
    telegram_thread, signal_thread = sorted(bench.desk.topics)
    await bench.staff(telegram_thread, "for the Telegram user")
    await bench.staff(signal_thread, "for the Signal user")
    assert bench.relayed_out == [(301, "Support worker", "for the Telegram user")]
    assert signal.sent == [(UUID, "Support worker", "for the Signal user")]
    await signal_user(bench, Text("thanks"))
    assert signal.copied == [(UUID, signal_thread, "thanks")] and bench.relayed_in == []
    # Told of the claim in their own messenger, in their language.
    assert [(user, reply.parts[0], locale) for user, reply, locale in signal.told] == [
        (UUID, "Support worker from our team has joined the chat.", "en")
    ]


async def test_what_a_messenger_could_not_send_is_noted_for_staff_in_the_topic(desk_bench: Bench) -> None:
    bench = desk_bench
    signal = RecordingMessenger(unsent_note="only the caption was sent")
    bench.handoffs.messengers["signal"] = signal
    await signal_user(bench, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "a caption")
    assert (thread, "only the caption was sent") in bench.desk.notes


async def test_a_case_whose_messenger_is_not_running_tells_staff_instead_of_failing(desk_bench: Bench) -> None:
    bench = desk_bench
    bench.handoffs.messengers["signal"] = RecordingMessenger()
    await signal_user(bench, Command("human"))
    (thread,) = bench.desk.topics
    del bench.handoffs.messengers["signal"]  # restarted without Signal
    await bench.staff(thread, "are you there?")
    notes = [text for t, text in bench.desk.notes if t == thread]
    assert any("signal is not running in this bot" in text for text in notes)
    assert UUID not in " ".join(text for _, text in bench.desk.notes)
    # Nothing reached anyone by the wrong messenger.
    assert bench.relayed_out == [] and bench.desk.to_users == []
