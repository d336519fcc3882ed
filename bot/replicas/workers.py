"""Workers: every replica claims conversations with waiting updates and processes each one's in order.

A worker leases one conversation, processes its updates one by one (lowest update id first) through the
application's handlers, and renews the lease meanwhile; when the conversation has nothing left it gives
the lease back. A replica that dies keeps its leases until they run out, then another replica takes those
conversations over from the first update not yet marked done. NOTIFY wakes idle workers at once; they
also look every `poll_seconds` in case a notification was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field

import psycopg
from telegram import Update
from telegram.ext import Application

from bot.privacy.keys import Keyring
from bot.replicas.entry import CURRENT, InboxEntry
from bot.replicas.inbox import CHANNEL, Inbox, Pending
from bot.replicas.poller import pause
from bot.replicas.routing import unseal_update

log = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds a stopping replica lets its workers finish the update in hand


def holder_name() -> str:
    """This process's name on its leases: host, pid and a random tail (a restarted pid is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Workers:
    """A few workers over one inbox, each serving one conversation at a time."""

    inbox: Inbox
    application: Application
    keyring: Keyring
    url: str  # for the LISTEN connection
    count: int = 8
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    holder: str = field(default_factory=holder_name)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    processed: int = 0  # updates this replica processed, for tests

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop`; then let each worker finish its update in hand (up to STOP_GRACE)."""
        listener = asyncio.create_task(self._listen(stop))
        workers = [asyncio.create_task(self._work(stop)) for _ in range(self.count)]
        try:
            await stop.wait()
            self._wake.set()
            _, late = await asyncio.wait(workers, timeout=STOP_GRACE)
            for task in late:
                task.cancel()
        finally:
            listener.cancel()
            for task in workers:
                task.cancel()
            await asyncio.gather(listener, *workers, return_exceptions=True)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake the workers on every NOTIFY; reconnect after a failure (the poll covers the gap)."""
        while not stop.is_set():
            try:
                connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True, prepare_threshold=None)
                async with connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # anything stored while not listening
                    async for _ in connection.notifies():
                        self._wake.set()
            except psycopg.Error as exc:
                log.warning("listening for new updates failed: %s", type(exc).__name__)
                await pause(stop, self.poll_seconds)

    async def _work(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                conv = await self.inbox.claim(self.holder, self.lease_seconds)
            except psycopg.Error as exc:
                log.warning("claiming a conversation failed: %s", type(exc).__name__)
                conv = None
            if conv is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                continue
            self._wake.set()  # there may be more: let another worker look
            try:
                await self.serve(conv, stop)
            except psycopg.Error as exc:
                # The lease runs out and the conversation is taken up again where its updates stopped.
                log.error("a conversation's updates failed: %s", type(exc).__name__)
                await pause(stop, self.poll_seconds)

    async def serve(self, conv: bytes, stop: asyncio.Event) -> None:
        """Process one leased conversation's updates in order, then give the lease back."""
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._renew(conv, lost))
        try:
            while not stop.is_set() and not lost.is_set():
                pending = await self.inbox.next(conv)
                if pending is None:
                    break
                await self.process(pending)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if not lost.is_set():
            await self.inbox.release(conv, self.holder)
            self._wake.set()  # an update that came meanwhile is claimable now

    async def _renew(self, conv: bytes, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await self.inbox.renew(conv, self.holder, self.lease_seconds)
            except psycopg.Error:
                held = False
            if not held:
                log.warning("a conversation's lease ran out while it was being processed")
                lost.set()
                return

    async def process(self, pending: Pending) -> None:
        """Run one update through the handlers (its turn is stored as they go), then mark it done."""
        raw = unseal_update(pending.body, self.keyring)
        if raw is not None:
            update = Update.de_json(json.loads(raw), self.application.bot)
            token = CURRENT.set(InboxEntry(pending.transport, pending.update_id))
            try:
                await self.application.process_update(update)
            finally:
                CURRENT.reset(token)
        else:
            log.error("a stored update could not be opened (was the secret changed?); it is dropped")
        await self.inbox.finish(pending.transport, pending.update_id)
        self.processed += 1
