"""Relaying between user and staff: the user's messages into the case topic, staff replies out to the user.

Both directions go through the per-case queues (bot/handoff/relays.py): a turn only queues, and the
queue's drainer calls `send_relay` outside anyone's turn. A user who has gone closes the case; a topic
staff deleted closes it too; other refusals are reported in the topic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.engine import Reply
from bot.handoff.address import Address
from bot.handoff.cases import Case
from bot.handoff.desk import RETRY, TOPIC_GONE, USER_GONE, DeskError
from bot.handoff.relays import RelayItem, RetryLater

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

log = logging.getLogger(__name__)


@dataclass
class Relaying:
    """Queues and sends the messages of a case, and tells its user about it."""

    handoffs: Handoffs
    # aliases of cases whose user was told their relay queue is full: told once, until a message fits again.
    told_full: set[str] = field(default_factory=set)

    async def user_message(self, case: Case, relay: RelayItem | None, address: Address) -> None:
        """Queue the user's message for the case topic and note the activity, in one store write."""
        handoffs = self.handoffs
        now = handoffs.now_minutes()
        if relay is None:
            await handoffs.conversations.store.touch_case(case.alias, now)
            return
        if await handoffs.queues.put(case.alias, relay, active=now):
            self.told_full.discard(case.alias)
        elif case.alias not in self.told_full:
            self.told_full.add(case.alias)
            await self.tell(case, address, Reply((handoffs.say("relay_queue_full", case.locale),)))

    async def tell(self, case: Case, address: Address, reply: Reply) -> None:
        """Tell the user something about their case; a user who has gone closes it."""
        try:
            await self.handoffs.messenger_for(address).tell_user(address.user, reply, case.locale)
        except DeskError as exc:
            await self.refused_by_user(case, exc)

    async def refused_by_user(self, case: Case, exc: DeskError) -> None:
        """Telegram refused a message to the user: gone users close the case, other refusals are reported."""
        handoffs = self.handoffs
        log.warning("a message to a user was refused: %s %s", exc.method, exc.description)
        if exc.kind == USER_GONE:
            await handoffs.closing.close(case, "staff_user_gone", None)
        elif case.thread_id is not None:
            await handoffs.staff_note(case.thread_id, handoffs.staff_say("staff_reply_refused", reason=exc.description))

    async def send_relay(self, alias: str, item: RelayItem) -> bool:
        """Send one queued relay; False leaves it waiting (the case has no topic yet)."""
        handoffs = self.handoffs
        case = await handoffs.conversations.store.case_by_alias(alias)
        if case is None:
            return True  # closed meanwhile: nothing to send
        address = handoffs.address_of(case)
        if address is None:
            await handoffs.closing.close(case, "staff_link_lost", None)
            return True
        if item.kind == "out":
            await self.send_out(case, address, item)
            return True
        if case.thread_id is None:
            return False
        try:
            await handoffs.messenger_for(address).copy_in(address.user, item, case.thread_id)
        except DeskError as exc:
            if exc.kind == RETRY:
                raise RetryLater(exc.retry_after) from None
            log.warning("a relay into a case topic was refused: %s %s", exc.method, exc.description)
            if exc.kind == TOPIC_GONE:
                await handoffs.closing.topic_lost(case)
            elif exc.kind != USER_GONE:
                await handoffs.staff_note(
                    case.thread_id, handoffs.staff_say("staff_relay_in_refused", reason=exc.description)
                )
        return True

    async def send_out(self, case: Case, address: Address, item: RelayItem) -> None:
        """A staff message to the user, under the case's staff alias; the first one claims the case."""
        handoffs = self.handoffs
        if case.claimed is None:
            case = await handoffs.staff.claim(case) or case
        try:
            messenger = handoffs.messenger_for(address)
            unsent = await messenger.send_out(
                address.user, item, case.staff_alias or handoffs.say("staff_default_alias", case.locale)
            )
        except DeskError as exc:
            if exc.kind == RETRY:
                raise RetryLater(exc.retry_after) from None
            await self.refused_by_user(case, exc)
            return
        if unsent and case.thread_id is not None:
            await handoffs.staff_note(case.thread_id, unsent)
