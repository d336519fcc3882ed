"""Targeted case changes: a step that waits on Telegram never writes back a stale or deleted case.

Each test holds one desk call open, runs the other side's step meanwhile, then lets the first finish.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.engine import Command, Text
from bot.handoff.relays import RelayItem
from tests.test_handoff import Bench, make_bench


async def held(bench: Bench, method: str, step: asyncio.Future[object] | asyncio.Task[object]) -> None:
    """Wait until `step` is stuck in the desk's `method`."""
    reached = bench.desk.reached.setdefault(method, asyncio.Event())
    await asyncio.wait_for(reached.wait(), 5)
    assert not step.done()


def hold(bench: Bench, method: str) -> asyncio.Event:
    release = asyncio.Event()
    bench.desk.hold[method] = release
    bench.desk.reached.pop(method, None)
    return release


async def test_forget_while_a_staff_reply_is_in_flight_never_brings_the_case_back(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    release = hold(bench, "send_out")
    reply = asyncio.ensure_future(bench.staff(thread, "Hello"))  # the reply's drainer claims, then sends
    await held(bench, "send_out", reply)
    await bench.user(7, Command("forget"), settle=False)
    release.set()
    await reply
    store = bench.handoffs.conversations.store
    assert await store.open_cases() == []
    await bench.user(7, Text("a new message"))
    assert all(text != "a new message" for _, _, text in bench.relayed_in)  # never copied into the old topic
    await store.close()


async def test_a_user_message_during_close_does_not_recreate_the_case(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    release = hold(bench, "tell_user")
    closing = asyncio.ensure_future(bench.staff(thread, "/close"))
    await held(bench, "tell_user", closing)
    await bench.user(7, Text("wait, one more thing"), settle=False)
    release.set()
    await closing
    assert await bench.handoffs.conversations.store.open_cases() == []
    await bench.handoffs.conversations.store.close()


async def test_a_user_message_during_claim_keeps_the_claim_and_it_is_told_and_counted_once(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    release = hold(bench, "tell_user")
    claiming = asyncio.ensure_future(bench.staff(thread, "/claim"))
    await held(bench, "tell_user", claiming)
    await bench.user(7, Text("hello?"), settle=False)
    release.set()
    await claiming
    await bench.staff(thread, "/claim")
    store = bench.handoffs.conversations.store
    (case,) = await store.open_cases()
    assert case.claimed is not None
    joined = [r for _, r in bench.desk.to_users if "joined the chat" in r.parts[0]]
    assert len(joined) == 1
    assert bench.desk.notes[-1][1] == "This case is already claimed."
    counters = await store.counters(0, 10**7)
    assert sum(count for _, kind, name, count in counters if (kind, name) == ("handoff", "claimed")) == 1
    await store.close()


async def test_a_user_message_during_alias_keeps_the_alias(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    release = hold(bench, "note")
    aliasing = asyncio.ensure_future(bench.staff(thread, "/alias Sam"))
    await held(bench, "note", aliasing)
    await bench.user(7, Text("hi"), settle=False)
    release.set()
    await aliasing
    await bench.staff(thread, "Hello from Sam")
    assert bench.relayed_out[-1][1] == "Sam"
    await bench.handoffs.conversations.store.close()


async def test_a_staff_reply_during_close_is_dropped_not_sent_to_a_closed_case(tmp_path: Path) -> None:
    bench = await make_bench(tmp_path)
    await bench.user(7, Command("human"))
    (thread,) = bench.desk.topics
    release = hold(bench, "note")
    ending = asyncio.ensure_future(bench.user(7, Command("end"), settle=False))
    await held(bench, "note", ending)  # the case is deleted; staff are being told
    await bench.handoffs.staff.staff_input(thread, "too late", RelayItem("out", 1, "too late"))
    release.set()
    await ending
    await bench.handoffs.queues.wait_idle()
    assert bench.relayed_out == []
    assert await bench.handoffs.conversations.store.open_cases() == []
    await bench.handoffs.conversations.store.close()
