"""Long polling with replicas: the elected replica polls, storing each batch before it asks for the next.

Telegram forgets updates only when a later getUpdates confirms them (its offset), and the offset moves
past a batch only after every update of it is committed to the inbox; a leader that dies mid-batch
leaves those unconfirmed, the next leader is sent them again, and the inbox stores each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.privacy.keys import Keyring
from bot.replicas.inbox import Inbox
from bot.replicas.leader import Election
from bot.replicas.routing import TRANSPORT, conversation_of, seal_update

log = logging.getLogger(__name__)

ERROR_PAUSE = 1.0  # seconds before polling again after Telegram or the database failed


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass
class Poller:
    """Polls Telegram into the inbox while this replica holds the poll lock; tries for it otherwise."""

    bot: Bot
    inbox: Inbox
    keyring: Keyring
    election: Election
    timeout: int = 30  # getUpdates' long-poll seconds
    retry_seconds: float = 5.0  # how often a follower tries for the lead

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: lead and poll, or wait and try again."""
        try:
            while not stop.is_set():
                if await self.election.try_lead():
                    await self._lead(stop)
                else:
                    await pause(stop, self.retry_seconds)
        finally:
            await self.election.resign()

    async def _lead(self, stop: asyncio.Event) -> None:
        try:
            await self.bot.delete_webhook()
        except TelegramError as exc:
            log.warning("could not remove a webhook before polling: %s", type(exc).__name__)
        offset: int | None = None
        while not stop.is_set() and await self.election.try_lead():
            try:
                updates = await self._poll(offset, stop)
            except (TelegramError, OSError) as exc:
                log.warning("polling failed: %s", type(exc).__name__)
                await pause(stop, ERROR_PAUSE)
                continue
            if updates is None:
                return  # stopping
            try:
                for update in updates:
                    await self.store(update)
            except Exception as exc:
                # Not confirmed: the same batch is asked for (and stored, once) again.
                log.error("polled updates could not be stored: %s", type(exc).__name__)
                await pause(stop, ERROR_PAUSE)
                continue
            if updates:
                offset = updates[-1].update_id + 1

    async def _poll(self, offset: int | None, stop: asyncio.Event) -> tuple[Update, ...] | None:
        """One getUpdates, given up (None) when `stop` is set meanwhile."""
        asking = asyncio.create_task(
            self.bot.get_updates(offset=offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES)
        )
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait((asking, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not asking.done():
            asking.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError, OSError):
                await asking
            return None
        return asking.result()

    async def store(self, update: Update) -> None:
        """Store one polled update in the inbox (committed when this returns)."""
        raw = update.to_json().encode()
        await self.inbox.add(
            TRANSPORT, update.update_id, conversation_of(update, self.keyring), seal_update(raw, self.keyring)
        )
