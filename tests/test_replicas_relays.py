"""Relays with replicas: two replicas' drainers of one case (each reads the whole queue) send each relay
once and in order, because one at a time holds the case's relay lock; relays a stopped replica left
queued are sent by the chores replica."""

from __future__ import annotations

import asyncio

import pytest

from bot.handoff.relays import RelayItem, RelayQueues
from bot.privacy.keys import Keyring
from bot.replicas.inbox import Inbox
from bot.replicas.leader import CHORES_LOCK, Election
from bot.replicas.relaylock import RelayLocks
from bot.replicas.serve import replica_chores
from bot.store import open_store
from tests.store.test_store_contract import a_case

pytestmark = pytest.mark.e2e

KEYRING = Keyring(b"k" * 32)


async def test_two_replicas_draining_one_case_send_each_relay_once_in_order(pg_url: str) -> None:
    stores = [await open_store(pg_url), await open_store(pg_url)]
    locks = [await RelayLocks.open(pg_url), await RelayLocks.open(pg_url)]
    sent: list[str] = []

    async def send(alias: str, item: RelayItem) -> bool:
        await asyncio.sleep(0.01)  # a send takes a while: the other replica's drainer is kicked meanwhile
        sent.append(item.text or "")
        return True

    replicas = [RelayQueues(store, KEYRING, send, guard=lock.hold) for store, lock in zip(stores, locks, strict=True)]
    try:
        assert await stores[0].insert_case(a_case("K7Q2"))
        for n in range(12):
            # The user's messages are queued on one replica, staff's replies on the other, interleaved.
            assert await replicas[n % 2].put("K7Q2", RelayItem("in" if n % 2 == 0 else "out", n, f"relay {n}"))
        await asyncio.wait_for(asyncio.gather(*(queues.wait_idle() for queues in replicas)), 30)
        assert sent == [f"relay {n}" for n in range(12)]
        assert await stores[0].relays("K7Q2") == []
    finally:
        for queues in replicas:
            await queues.stop()
        for lock in locks:
            await lock.close()
        for store in stores:
            await store.close()


async def test_without_the_lock_two_drainers_of_one_case_would_send_a_relay_twice(pg_url: str) -> None:
    store = await open_store(pg_url)
    sent: list[str] = []

    async def send(alias: str, item: RelayItem) -> bool:
        await asyncio.sleep(0.05)
        sent.append(item.text or "")
        return True

    replicas = [RelayQueues(store, KEYRING, send) for _ in range(2)]
    try:
        assert await store.insert_case(a_case("K7Q2"))
        assert await replicas[0].put("K7Q2", RelayItem("in", 1, "relay 1"))
        assert await replicas[1].put("K7Q2", RelayItem("out", 2, "relay 2"))
        await asyncio.wait_for(asyncio.gather(*(queues.wait_idle() for queues in replicas)), 30)
        assert sent.count("relay 1") == 2  # what the lock is for
    finally:
        for queues in replicas:
            await queues.stop()
        await store.close()


async def test_the_chores_replica_sends_relays_a_stopped_replica_left_queued(pg_url: str) -> None:
    store = await open_store(pg_url)
    lock = await RelayLocks.open(pg_url)
    inbox = await Inbox.open(pg_url)
    chores = Election(pg_url, CHORES_LOCK, "the chores")
    sent: list[str] = []
    delivered = asyncio.Event()

    async def send(alias: str, item: RelayItem) -> bool:
        sent.append(item.text or "")
        delivered.set()
        return True

    queues = RelayQueues(store, KEYRING, send, guard=lock.hold)
    stop = asyncio.Event()
    try:
        assert await store.insert_case(a_case("K7Q2"))
        # Queued by a replica that stopped before its drainer sent it.
        await store.add_relay("K7Q2", RelayItem("out", 1, "left behind").seal(KEYRING, "K7Q2"), 20)
        assert await chores.try_lead()
        running = asyncio.create_task(replica_chores(inbox, queues, chores, stop, every=0.05))
        await asyncio.wait_for(delivered.wait(), 10)
        await queues.wait_idle()
        stop.set()
        await running
        assert sent == ["left behind"] and await store.relays("K7Q2") == []
    finally:
        await queues.stop()
        await chores.resign()
        await inbox.close()
        await lock.close()
        await store.close()
