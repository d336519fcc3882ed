"""What every transport shares: the conversations, live reload, and the chores that run beside them.

A transport adapts its messenger to `Conversations` (bot/conversation.py, one user's turn) and a
`Desk` (bot/handoff/desk.py, the staff side); the runtime builds those from the loaded flows, the
store and the keyring, and runs what no single message starts: the case tick (waiting and quiet cases,
old transcripts), the daily purge of idle sessions, and the reload watcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.conversation import Conversations
from bot.flows import FlowSet
from bot.handoff.desk import Desk
from bot.handoff.service import Handoffs
from bot.privacy.keys import Keyring
from bot.reload import POLL_SECONDS, Reloader
from bot.store import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # how often waiting and quiet cases are looked at, and whether a new day began


@dataclass
class Runtime:
    """One bot's shared core; transports hold it and add only what their messenger needs."""

    conversations: Conversations
    reloader: Reloader | None = None  # live reload of flows/ and locales/; None when reloads are off
    purged_day: int = field(default=0, init=False)  # the local day idle sessions were last purged
    # With several replicas, whether this one runs the chores now (one does at a time); None: always.
    chores_here: Callable[[], Awaitable[bool]] | None = field(default=None, init=False)

    @classmethod
    def build(
        cls,
        flows: FlowSet,
        store: Store,
        keyring: Keyring,
        flows_dir: Path,
        locales_dir: Path,
        *,
        watch: bool = True,
    ) -> Runtime:
        """The conversations over `store`, and a reloader that polls the folders when `watch` (else on request only)."""
        conversations = Conversations(flows, store, keyring)
        poll = POLL_SECONDS if watch else None
        return cls(conversations, Reloader(conversations, flows_dir, locales_dir, poll_seconds=poll))

    def handoffs(self, desk: Desk) -> Handoffs:
        """The case lifecycle over a transport's staff side."""
        return Handoffs(self.conversations, desk)

    def follow_reloads(
        self, notify: Callable[[str], Awaitable[None]], on_loaded: Callable[[FlowSet], Awaitable[None]] | None = None
    ) -> None:
        """Send reload notices to `notify` and run `on_loaded` after new flows, unless already set up."""
        if self.reloader is None:
            return
        if self.reloader.notify is None:
            self.reloader.notify = notify
        if self.reloader.on_loaded is None and on_loaded is not None:
            self.reloader.on_loaded = on_loaded

    async def purge_daily(self) -> int:
        """Delete sessions idle past the retention, once per local day; returns how many went."""
        today = self.conversations.local_now().date().toordinal()
        if today == self.purged_day:
            return 0
        purged = await self.conversations.store.purge(today, self.conversations.flows.settings.retention_days)
        self.purged_day = today  # only once it worked: a failed purge is tried again at the next tick
        log.info("purged %d idle session(s)", purged)
        return purged

    async def tick(self, handoffs: Handoffs | None) -> None:
        """One round of chores: the cases, then the purge; neither failing stops the other."""
        if self.chores_here is not None and not await self.chores_here():
            return  # another replica runs them
        if handoffs is not None:
            try:
                await handoffs.ticker.tick()
            except Exception as exc:
                log.error("case tick failed: %s", type(exc).__name__)
        try:
            await self.purge_daily()
        except Exception as exc:
            log.error("daily purge failed: %s", type(exc).__name__)

    async def tick_forever(self, handoffs: Handoffs | None, every: float = TICK_SECONDS) -> None:
        """Run the chores every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            await self.tick(handoffs)

    @asynccontextmanager
    async def running(self, handoffs: Handoffs | None = None, *, watch: bool = True) -> AsyncIterator[None]:
        """While inside: relays left by the last stop are resumed, the chores run, reloads are watched.

        On leaving, unsent relays stay stored (sealed) and are sent after the restart; nobody waits for them.
        """
        if handoffs is not None:
            await handoffs.queues.resume()
        ticker = asyncio.create_task(self.tick_forever(handoffs))
        watcher = asyncio.create_task(self.reloader.watch_forever()) if watch and self.reloader else None
        try:
            yield
        finally:
            ticker.cancel()
            if watcher is not None:
                watcher.cancel()
            if handoffs is not None:
                await handoffs.queues.stop()
