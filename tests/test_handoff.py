"""The handoff lifecycle, transport-agnostic: a recording desk stands in for the staff group."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from bot.conversation import Conversations
from bot.engine import Command, Inbound, Media, Outcome, Pick, Reply, Text
from bot.handoff.desk import USER_GONE, DeskError
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.handoff.turns import END
from bot.i18n.catalog import Texts
from bot.privacy.keys import Keyring
from bot.store import Store, open_store
from tests.conftest import shipped

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FRIDAY_EVENING = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)


@dataclass
class RecordingDesk:
    """Stands in for the staff group; `refuse` makes a method raise Telegram's refusal once."""

    topics: dict[int, str] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    to_users: list[tuple[int, Reply]] = field(default_factory=list)
    relayed_in: list[tuple[int, int, str]] = field(default_factory=list)  # (chat, thread, text)
    relayed_out: list[tuple[int, str, str]] = field(default_factory=list)  # (chat, alias, text)
    refuse: dict[str, DeskError] = field(default_factory=dict)
    blocked: set[int] = field(default_factory=set)
    # Set to make the next call of a method wait there, so a test can interleave another step.
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    reached: dict[str, asyncio.Event] = field(default_factory=dict)

    async def _enter(self, method: str) -> None:
        if method in self.hold:
            self.reached.setdefault(method, asyncio.Event()).set()
            await self.hold.pop(method).wait()
        if method in self.refuse:
            raise self.refuse.pop(method)

    async def open_topic(self, title: str) -> int:
        await self._enter("open_topic")
        self.topics[len(self.topics) + 100] = title
        return len(self.topics) + 99

    async def reopen_topic(self, thread_id: int) -> None:
        await self._enter("reopen_topic")

    async def note(self, thread_id: int, text: str) -> None:
        await self._enter("note")
        self.notes.append((thread_id, text))

    async def close_topic(self, thread_id: int) -> None:
        await self._enter("close_topic")
        self.closed.append(thread_id)

    async def delete_topic(self, thread_id: int) -> None:
        await self._enter("delete_topic")
        self.deleted.append(thread_id)

    async def tell_user(self, chat_id: int, reply: Reply) -> None:
        await self._enter("tell_user")
        if chat_id in self.blocked:
            raise DeskError("sendMessage", "Forbidden: bot was blocked by the user", USER_GONE)
        self.to_users.append((chat_id, reply))

    async def copy_in(self, chat_id: int, item: RelayItem, thread_id: int) -> None:
        await self._enter("copy_in")
        self.relayed_in.append((chat_id, thread_id, item.text or ""))

    async def send_out(self, chat_id: int, item: RelayItem, staff_alias: str) -> None:
        await self._enter("send_out")
        if chat_id in self.blocked:
            raise DeskError("sendMessage", "Forbidden: bot was blocked by the user", USER_GONE)
        self.relayed_out.append((chat_id, staff_alias, item.text or ""))


@dataclass
class Clock:
    now: datetime = WEDNESDAY_NOON

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Bench:
    handoffs: Handoffs
    desk: RecordingDesk
    clock: Clock
    replies: dict[int, list[Reply]] = field(default_factory=dict)

    @property
    def relayed_in(self) -> list[tuple[int, int, str]]:
        return self.desk.relayed_in

    @property
    def relayed_out(self) -> list[tuple[int, str, str]]:
        return self.desk.relayed_out

    async def user(
        self,
        chat_id: int,
        inbound: Inbound,
        language: str | None = "en",
        caption: str | None = None,
        settle: bool = True,
    ) -> Reply | None:
        before = len(self.replies.get(chat_id, []))

        async def deliver(outcome: Outcome) -> None:
            self.replies.setdefault(chat_id, []).append(outcome.reply)

        relay = RelayItem("in", 1, getattr(inbound, "text", None) or caption or type(inbound).__name__)
        await self.handoffs.turns.take_turn("test", chat_id, inbound, language, relay, deliver, caption)
        if settle:  # wait for the relays to be sent
            await self.handoffs.queues.wait_idle()
        mine = self.replies.get(chat_id, [])
        return mine[-1] if len(mine) > before else None

    async def staff(self, thread_id: int, text: str, settle: bool = True) -> None:
        await self.handoffs.staff.staff_input(thread_id, text, RelayItem("out", 1, text))
        if settle:
            await self.handoffs.queues.wait_idle()


# The store's methods that only read; every other public coroutine of a store counts as a write.
STORE_READS = frozenset(
    {
        "load_turn",
        "load",
        "counters",
        "monthly_counters",
        "session_count",
        "secret_check",
        "holds_people",
        "case_for_user",
        "case_for_thread",
        "case_by_alias",
        "open_cases",
        "relays",
        "relay_aliases",
        "topics_of",
        "expired_topics",
        "blocked_until",
        "blocked_count",
        "scrubbed",
        "close",
    }
)


class CountingStore:
    """A real store, passed through, that notes the name of every call that writes."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.inner, name)
        if name.startswith("_") or name in STORE_READS or not asyncio.iscoroutinefunction(found):
            return found

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.writes.append(name)
            return await found(*args, **kwargs)

        return counted


RO = {
    "Our team isn't here right now. They will be back {when}. You can leave a message here and they will see it then.": "Echipa noastră nu este aici acum. Revine {when}. Poți lăsa un mesaj aici.",
}


async def make_bench(path: Path, clock: Clock | None = None, store: Store | None = None) -> Bench:
    flows = shipped()
    flows = replace(
        flows.with_texts(Texts(MappingProxyType({"ro": MappingProxyType(RO)}))),
        settings=replace(flows.settings, languages=("en", "ro")),
    )
    clock = clock or Clock()
    store = store or await open_store(path / "bot.sqlite3")
    desk = RecordingDesk()
    conversations = Conversations(flows, store, Keyring(b"k" * 32), clock=clock)
    return Bench(Handoffs(conversations, desk), desk, clock)


@pytest.fixture
async def bench(tmp_path: Path):
    made = await make_bench(tmp_path)
    yield made
    await made.handoffs.conversations.store.close()


async def test_request_in_hours_opens_a_topic_and_gives_the_queue_place(bench: Bench) -> None:
    await bench.user(987654321, Command("start"))
    await bench.user(987654321, Text("testing and sexual health"))
    await bench.user(987654321, Text("pep"))
    reply = await bench.user(987654321, Command("human"))
    assert reply is not None and "You are number 1 in the queue" in reply.parts[0]
    assert [b.label for b in reply.buttons] == ["End chat"]
    ((_thread, title),) = bench.desk.topics.items()
    assert title.startswith("Case ") and title.endswith(" · en · testing › pep")
    assert "987654321" not in title and all("987654321" not in text for _, text in bench.desk.notes)
    second = await bench.user(5555, Command("human"))
    assert second is not None and "number 2 in the queue" in second.parts[0]


async def test_out_of_hours_says_when_staff_are_back_in_the_users_language(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path, Clock(FRIDAY_EVENING))
    english = await bench.user(1, Command("human"), "en")
    romanian = await bench.user(2, Command("human"), "ro")
    assert english is not None and "They will be back Monday 10:00." in english.parts[0]
    assert (
        romanian is not None
        and romanian.parts[0] == "Echipa noastră nu este aici acum. Revine luni 10:00. Poți lăsa un mesaj aici."
    )
    assert any("Opened out of hours" in text for _, text in bench.desk.notes)
    # A message left out of hours still reaches the case for staff to pick up.
    await bench.user(1, Text("please call me back tomorrow"))
    assert bench.relayed_in[-1][2] == "please call me back tomorrow"
    await bench.handoffs.conversations.store.close()


async def test_while_a_case_is_open_the_users_messages_go_to_staff_not_the_engine(bench: Bench) -> None:
    await bench.user(7, Command("start"))
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    assert await bench.user(7, Text("testing and sexual health")) is None
    assert await bench.user(7, Media("photo")) is None
    assert [(c, t) for c, t, _ in bench.relayed_in] == [(7, thread), (7, thread)]
    key = bench.handoffs.conversations.keyring.user_key("test", 7)
    assert (await bench.handoffs.conversations.store.load(key)).node == "main.welcome"  # type: ignore[union-attr]


async def test_a_users_message_in_an_open_case_costs_one_store_write(tmp_path: Path) -> None:
    store = CountingStore(await open_store(tmp_path / "bot.sqlite3"))
    bench = await make_bench(tmp_path, store=store)  # type: ignore[arg-type]
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    sending = bench.desk.hold["copy_in"] = asyncio.Event()  # the relay, once sent, is removed: a later write
    bench.clock.now += timedelta(minutes=7)
    store.writes.clear()
    assert await bench.user(7, Text("are you there?"), settle=False) is None
    assert store.writes == ["add_relay"]  # the message and the case's activity, together
    (case,) = await store.open_cases()
    assert case.active == bench.handoffs.now_minutes()
    sending.set()
    await bench.handoffs.queues.wait_idle()
    assert bench.relayed_in == [(7, thread, "are you there?")]
    await store.close()


async def test_a_page_staff_send_moves_the_user_and_notes_the_cases_activity_in_one_write(tmp_path: Path) -> None:
    store = CountingStore(await open_store(tmp_path / "bot.sqlite3"))
    bench = await make_bench(tmp_path, store=store)  # type: ignore[arg-type]
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "/claim")
    bench.clock.now += timedelta(minutes=9)
    store.writes.clear()
    await bench.staff(thread, "/send testing.where")
    assert store.writes == ["write_turn"]
    (case,) = await store.open_cases()
    assert case.active == bench.handoffs.now_minutes()
    key = bench.handoffs.conversations.keyring.user_key("test", 7)
    assert (await store.load(key)).node == "testing.where"  # type: ignore[union-attr]
    await store.close()


async def test_staff_reply_reaches_user_under_the_alias_and_claims_the_case(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "/alias Sam")
    await bench.staff(thread, "Hello, how can I help?")
    assert bench.relayed_out == [(7, "Sam", "Hello, how can I help?")]
    assert bench.desk.to_users[0] == (7, Reply(("Sam from our team has joined the chat.",)))


async def test_internal_note_is_never_relayed(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "!seems new to the area")
    assert bench.relayed_out == [] and bench.desk.to_users == []


async def test_staff_commands_are_read_like_any_command_and_a_bare_slash_is_not_relayed(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "/")
    unknown = bench.handoffs.staff_say("staff_unknown_command")
    assert bench.relayed_out == [] and bench.desk.notes[-1] == (thread, unknown)
    await bench.staff(thread, "/Claim@signposting_bot")
    assert bench.desk.to_users[-1] == (7, Reply(("Support worker from our team has joined the chat.",)))
    assert bench.relayed_out == []


async def test_claim_release_and_close(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    await bench.user(8, Command("human"))
    first, second = bench.desk.topics
    await bench.staff(first, "/claim")
    assert bench.desk.to_users[-1] == (7, Reply(("Support worker from our team has joined the chat.",)))
    await bench.staff(first, "/release")
    assert bench.desk.to_users[-1][1].parts[0].startswith("You're back with the automatic menu")
    await bench.staff(second, "/close")
    assert bench.desk.to_users[-1][0] == 8 and bench.desk.to_users[-1][1].parts[0].startswith(
        "The chat with our team has ended"
    )
    assert bench.desk.closed == [first, second]
    assert await bench.handoffs.conversations.store.open_cases() == []
    # Back with the bot: the engine answers again.
    reply = await bench.user(7, Command("menu"))
    assert reply is not None and reply.parts == ("What can I help with?",)


async def test_user_can_end_the_chat_by_command_or_button(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    reply = await bench.user(7, END)
    assert reply is not None and reply.parts[0].startswith("You've left the chat")
    assert any(text == "The user has left this chat." for _, text in bench.desk.notes)
    await bench.user(7, Command("human"))
    reply = await bench.user(7, Command("end"))
    assert reply is not None and reply.parts[0].startswith("You've left the chat")


async def test_two_cases_never_cross(bench: Bench) -> None:
    await bench.user(1, Command("human"))
    await bench.user(2, Command("human"))
    one, two = bench.desk.topics
    await bench.user(1, Text("from one"))
    await bench.user(2, Text("from two"))
    await bench.staff(two, "to two")
    await bench.staff(one, "to one")
    assert [(c, t) for c, t, _ in bench.relayed_in] == [(1, one), (2, two)]
    assert [(c, text) for c, _, text in bench.relayed_out] == [(2, "to two"), (1, "to one")]


async def test_cases_survive_a_restart(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(987654321, Command("human"))
    (thread,) = bench.desk.topics
    await bench.handoffs.conversations.store.close()
    again = await make_bench(tmp_path)
    await again.staff(thread, "still here")
    assert again.relayed_out == [(987654321, "Support worker", "still here")]
    await again.user(987654321, Text("thanks"))
    assert again.relayed_in == [(987654321, thread, "thanks")]
    await again.handoffs.conversations.store.close()


async def test_no_chat_id_is_stored_in_clear_and_the_link_goes_with_the_case(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(987654321, Command("human"))
    db = tmp_path / "bot.sqlite3"
    raw = db.read_bytes() + (tmp_path / "bot.sqlite3-wal").read_bytes()
    assert b"987654321" not in raw and (987654321).to_bytes(4, "big") not in raw
    (sealed,) = sqlite3.connect(db).execute("SELECT sealed_chat FROM cases").fetchone()
    assert len(sealed) > 12
    (thread,) = bench.desk.topics
    await bench.staff(thread, "/close")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM cases").fetchone() == (0,)
    await bench.handoffs.conversations.store.close()


async def test_unclaimed_case_gets_one_waiting_message_with_crisis_services_first(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    bench.clock.now += timedelta(minutes=11)
    await bench.handoffs.ticker.tick()
    await bench.handoffs.ticker.tick()
    waiting = [r for c, r in bench.desk.to_users if r.parts[0].startswith("Sorry for the wait")]
    assert len(waiting) == 1
    assert next(card.id for card in waiting[0].services) == "emergency_999"


async def test_claimed_chat_quiet_in_staff_hours_closes_itself_and_tells_both_sides(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "Hello")
    bench.clock.now += timedelta(minutes=121)  # Wednesday 12:00 -> 14:01, all staff hours
    await bench.handoffs.ticker.tick()
    assert bench.desk.to_users[-1][1].parts[0].startswith("This chat with our team has ended")
    assert bench.desk.notes[-1][1].startswith("Closed after a quiet spell")
    assert bench.desk.notes[-1][1].endswith("The user has been told.")
    assert await bench.handoffs.conversations.store.open_cases() == []


async def test_crisis_words_mid_handoff_answer_first_and_flag_staff(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    reply = await bench.user(7, Text("he attacked me"))
    assert reply is not None and "In danger now? Call 999" in reply.parts[0]
    assert bench.relayed_in[-2][2] == "he attacked me"
    assert bench.relayed_in[-1][2].startswith("⚠ The user's last message has crisis words")  # right after it
    assert await bench.handoffs.conversations.store.open_cases() != []


async def test_forget_mid_handoff_deletes_the_case_and_its_topic_and_tells_staff_in_the_main_thread(
    bench: Bench,
) -> None:
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    reply = await bench.user(7, Command("forget"))
    assert reply is not None and reply.parts[0].startswith("Done. I have deleted everything")
    assert bench.desk.deleted == [thread]
    main, text = bench.desk.notes[-1]
    assert main == 0 and text.startswith("A user asked to be forgotten")
    assert await bench.handoffs.conversations.store.open_cases() == []


async def test_asking_again_while_a_case_is_open_does_not_open_another(bench: Bench) -> None:
    await bench.user(7, Command("start"))
    await bench.user(7, Command("human"))
    reply = await bench.user(7, Pick("main.welcome", "c:2"))
    assert reply is not None and reply.parts[0].startswith("You're already in a chat with our team")
    assert len(bench.desk.topics) == 1


async def test_queue_lists_open_cases_with_waiting_minutes(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    bench.clock.now += timedelta(minutes=4)
    await bench.user(8, Command("human"), "ro")
    one, _ = bench.desk.topics
    await bench.staff(one, "/alias Sam")
    await bench.staff(one, "/claim")
    lines = (await bench.handoffs.staff.queue()).splitlines()
    assert lines[0] == "Open cases: 2"
    assert lines[1].endswith(" · en · 4 min · with Sam") and lines[2].endswith(" · ro · 0 min · waiting")


async def test_crisis_words_are_caught_in_a_language_without_its_own_keywords(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(9, Command("human"), "ro")
    reply = await bench.user(9, Text("I am in danger"), "ro")
    assert reply is not None and "Call 999" in reply.parts[0]
    await bench.handoffs.conversations.store.close()


async def test_a_user_whose_relays_back_up_is_told_once_gently(bench: Bench) -> None:
    await bench.user(7, Command("human"))
    stuck = bench.desk.hold["copy_in"] = asyncio.Event()  # the staff group takes nothing meanwhile
    for n in range(25):
        await bench.user(7, Text(f"message {n}"), settle=False)
    told = [r for _, r in bench.desk.to_users if r.parts[0].startswith("You've sent a lot at once")]
    assert len(told) == 1
    store = bench.handoffs.conversations.store
    (case,) = await store.open_cases()
    assert len(await store.relays(case.alias)) == 20  # the queue is bounded
    stuck.set()
    await bench.handoffs.queues.wait_idle()
    assert [text for _, _, text in bench.relayed_in] == [f"message {n}" for n in range(20)]  # in order


async def test_a_case_orphaned_by_a_changed_secret_never_tells_staff_the_user_was_told(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    await bench.staff(thread, "Hello")
    store = bench.handoffs.conversations.store
    conversations = replace(bench.handoffs.conversations, keyring=Keyring(b"n" * 32))  # the secret was changed
    orphaned = Handoffs(conversations, bench.desk)
    bench.clock.now += timedelta(minutes=121)
    await orphaned.ticker.tick()
    text = bench.desk.notes[-1][1]
    assert text.startswith("Closed after a quiet spell") and "The user has been told" not in text
    assert text.endswith("The user could not be told (the bot's secret was changed since the case opened).")
    assert await store.open_cases() == []
    await store.close()
