"""The per-case relay queue: every stored relay is sent, in order, however the reads and writes interleave."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.handoff.relays import RelayItem, RelayQueues
from bot.privacy.keys import Keyring


@dataclass
class HeldStore:
    """Just the relay part of a store; `hold_read` makes the next read of the queue wait until released."""

    rows: list[tuple[int, str, bytes]] = field(default_factory=list)
    hold_read: asyncio.Event | None = None
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: int = 0

    async def add_relay(self, alias: str, body: bytes, limit: int, active: int | None = None) -> int | None:
        self._ids += 1
        self.rows.append((self._ids, alias, body))
        return self._ids

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        found = [(i, b) for i, a, b in self.rows if a == alias]  # what the read sees is fixed here
        if self.hold_read is not None:
            held, self.hold_read = self.hold_read, None
            self.reading.set()
            await held.wait()
        return found

    async def remove_relay(self, relay_id: int) -> None:
        self.rows = [r for r in self.rows if r[0] != relay_id]

    async def relay_aliases(self) -> list[str]:
        return sorted({a for _, a, _ in self.rows})


async def test_a_relay_stored_while_the_drainer_finds_the_queue_empty_is_still_sent() -> None:
    store = HeldStore()
    sent: list[str] = []

    async def send(alias: str, item: RelayItem) -> bool:
        sent.append(item.text or "")
        return True

    queues = RelayQueues(store, Keyring(b"k" * 32), send)  # type: ignore[arg-type]
    await queues.put("case-1", RelayItem("in", 1, "first"))
    await queues.wait_idle()
    assert sent == ["first"]

    # The drainer's next read sees an empty queue; the user's message is stored while that read is in flight.
    store.hold_read = release = asyncio.Event()
    queues.kick("case-1")
    await store.reading.wait()
    await queues.put("case-1", RelayItem("in", 2, "still here"))
    release.set()
    await asyncio.wait_for(queues.wait_idle(), 5)
    assert sent == ["first", "still here"]
    assert store.rows == []


async def test_relays_of_one_case_are_sent_in_the_order_they_were_stored() -> None:
    store = HeldStore()
    sent: list[str] = []

    async def send(alias: str, item: RelayItem) -> bool:
        await asyncio.sleep(0)
        sent.append(item.text or "")
        return True

    queues = RelayQueues(store, Keyring(b"k" * 32), send)  # type: ignore[arg-type]
    for n in range(10):
        await queues.put("case-1", RelayItem("in", n, f"message {n}"))
    await asyncio.wait_for(queues.wait_idle(), 5)
    assert sent == [f"message {n}" for n in range(10)]
