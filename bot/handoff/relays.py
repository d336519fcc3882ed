"""Per-case relay queues: copies to and from the staff group leave a user's turn at once.

Each relay is stored sealed (like the case's chat link) before the turn ends, then one drainer per
case sends its relays in order, within Telegram's limits (the rate limiter waits there, not in the
user's turn). A relay is deleted once sent, so a stop or a crash leaves the rest to be sent after
the restart; a case's relays are deleted with the case.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass, field

from bot.privacy.keys import Keyring
from bot.store.base import Store

log = logging.getLogger(__name__)

QUEUE_LIMIT = 20  # relays waiting per case; past this the user is told to slow down


@dataclass(frozen=True, slots=True)
class RelayItem:
    """One relay: `in` copies the user's message into the topic, `out` sends a staff reply, `edit` shows a
    user's edit, `note` posts a bot note to staff in its place in the order."""

    kind: str
    message_id: int
    text: str | None = None  # a staff reply's text or caption, the edited text, or a text-only messenger's message
    is_text: bool = True
    media: str = ""  # on a messenger whose messages are relayed as text: the kind of attachment that came with it

    def seal(self, keyring: Keyring, alias: str) -> bytes:
        """The relay as stored: sealed and bound to its case."""
        return keyring.seal(json.dumps(asdict(self)).encode(), b"relay:" + alias.encode())

    @staticmethod
    def unseal(keyring: Keyring, alias: str, body: bytes) -> RelayItem | None:
        """A stored relay, or None when it can't be opened (the secret changed)."""
        plain = keyring.unseal(body, b"relay:" + alias.encode())
        if plain is None:
            return None
        try:
            return RelayItem(**json.loads(plain))
        except (TypeError, ValueError):
            return None


class RetryLater(Exception):
    """Telegram's flood control outlasted the rate limiter's retries: send this relay again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


MAX_TRIES = 5  # tries of one relay through flood control before it is given up (and logged)

# Sends one relay; returns False to leave it (and those behind it) waiting, e.g. for the case's topic.
Sender = Callable[[str, RelayItem], Awaitable[bool]]


@dataclass
class RelayQueues:
    """The waiting relays of every open case, and one drainer task per case that has any."""

    store: Store
    keyring: Keyring
    send: Sender
    limit: int = QUEUE_LIMIT
    # With several replicas, held around each drain so one replica at a time sends a case's relays (a relay
    # queued on one replica may be read by another's drainer); None: this process is alone.
    guard: Callable[[str], AbstractAsyncContextManager[None]] | None = None
    _drainers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _again: set[str] = field(default_factory=set)  # cases kicked while their drainer was reading
    _stopping: bool = False

    async def put(self, alias: str, item: RelayItem, active: int | None = None) -> bool:
        """Queue a relay behind the case's others and start draining; False when the queue is full or the case gone.

        `active` (a minute): the relay is a message either way, noted as the case's activity in the same write.
        """
        if await self.store.add_relay(alias, item.seal(self.keyring, alias), self.limit, active) is None:
            return False
        self.kick(alias)
        return True

    def kick(self, alias: str) -> None:
        """Start draining a case's relays unless a drainer already is."""
        if self._stopping:
            return
        running = self._drainers.get(alias)
        if running is None or running.done():
            self._drainers[alias] = asyncio.get_running_loop().create_task(self._drain(alias))
        else:
            # The running drainer may be mid-read and about to find nothing: make it read once more,
            # or a relay stored during that read would wait for the next restart.
            self._again.add(alias)

    async def resume(self) -> None:
        """After a restart: drain what was left waiting."""
        for alias in await self.store.relay_aliases():
            self.kick(alias)

    async def _drain(self, alias: str) -> None:
        if self.guard is None:
            emptied = await self._drain_all(alias)
        else:
            async with self.guard(alias):
                emptied = await self._drain_all(alias)
        if emptied and self._drainers.get(alias) is asyncio.current_task():
            del self._drainers[alias]

    async def _drain_all(self, alias: str) -> bool:
        """Send the case's relays in order; False when one must wait (and those behind it)."""
        while True:
            self._again.discard(alias)
            waiting = await self.store.relays(alias)
            if not waiting:
                if alias in self._again:
                    continue
                return True
            for relay_id, body in waiting:
                item = RelayItem.unseal(self.keyring, alias, body)
                sent = await self._send_one(alias, item)
                if not sent:
                    return False
                await self.store.remove_relay(relay_id)

    async def _send_one(self, alias: str, item: RelayItem | None) -> bool:
        """Send one relay, waiting out flood control in order; True when it is done with (sent or given up)."""
        for _ in range(MAX_TRIES):
            try:
                return item is None or await self.send(alias, item)
            except RetryLater as later:
                await asyncio.sleep(later.seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("a relay failed: %s", type(exc).__name__)
                return True
        log.error("a relay was given up after %d tries through flood control", MAX_TRIES)
        return True

    def idle(self, alias: str) -> bool:
        """Whether nothing of this case is being sent now."""
        running = self._drainers.get(alias)
        return running is None or running.done()

    async def wait_idle(self) -> None:
        """Wait until every drainer has finished (tests and the console use it)."""
        while running := [t for t in self._drainers.values() if not t.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    async def stop(self) -> None:
        """Stop draining at once; whatever is unsent stays stored and is sent after the restart.

        A relay cut off mid-request may have arrived and is then sent again: twice beats never.
        """
        self._stopping = True
        running = [t for t in self._drainers.values() if not t.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._drainers.clear()
