"""Closing a case, and forgetting: the case goes first, then the user is told, then staff.

A closed case's topic is kept (closed) as its transcript until `transcript_days` pass; a user who asks to
be forgotten has their case, its topic and the topics of their earlier cases deleted at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.engine import Button, Reply, feedback_buttons
from bot.handoff.cases import Case
from bot.handoff.desk import TOPIC_GONE, DeskError

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

log = logging.getLogger(__name__)


@dataclass
class Closing:
    """Ends cases and deletes their topics."""

    handoffs: Handoffs

    async def close(self, case: Case, staff_note: str, user_note: str | None, keep_topic: bool = True) -> bool:
        """End a case: delete it first, then tell the user if asked, then tell staff what happened.

        Returns False when the case was already gone (closed by someone else meanwhile).
        """
        handoffs = self.handoffs
        store = handoffs.conversations.store
        if not await store.remove_case(case.alias):
            return False
        handoffs.relaying.told_full.discard(case.alias)
        told = ""
        if user_note is not None:
            address = handoffs.address_of(case)
            if address is None:
                told = handoffs.staff_say("staff_not_told", reason=handoffs.staff_say("staff_reason_secret"))
            else:
                try:
                    buttons: tuple[Button, ...] = (handoffs.menu_button(case.locale),)
                    if user_note in ("handoff_closed", "handoff_expired"):
                        # After a chat with staff: the optional one-tap "Did this help?", counted per day only.
                        buttons += feedback_buttons(handoffs.flows, case.locale)
                    reply = Reply((handoffs.say(user_note, case.locale),), buttons)
                    await handoffs.messenger_for(address).tell_user(address.user, reply, case.locale)
                    told = handoffs.staff_say("staff_told")
                except DeskError as exc:
                    log.warning("telling a user their case closed failed: %s %s", exc.method, exc.description)
                    told = handoffs.staff_say("staff_not_told", reason=exc.description)
        if case.thread_id is not None and keep_topic:
            await handoffs.staff_note(case.thread_id, " ".join(filter(None, (handoffs.staff_say(staff_note), told))))
            try:
                await handoffs.desk.close_topic(case.thread_id)
            except DeskError as exc:
                log.warning("closing a case topic failed: %s %s", exc.method, exc.description)
            await store.add_closed_topic(case.thread_id, handoffs.today(), case.user_key)
        return True

    async def forget_case(self, case: Case) -> None:
        """The user asked to be forgotten mid-chat: the case, its topic and its transcript go."""
        if not await self.close(case, "staff_user_left", None, keep_topic=False):
            return
        if case.thread_id is not None:
            await self.delete_topic(case.thread_id)
        await self.handoffs.staff_note(0, self.handoffs.staff_say("staff_user_forgot", alias=case.alias))

    async def forget_topics(self, key: bytes) -> None:
        """A user asked to be forgotten: delete the topics of their earlier, closed cases too."""
        handoffs = self.handoffs
        earlier = await handoffs.conversations.store.topics_of(key)
        for thread_id in earlier:
            await self.delete_topic(thread_id)
        if earlier:
            await handoffs.staff_note(0, handoffs.staff_say("staff_user_forgot_topics", count=len(earlier)))

    async def delete_topic(self, thread_id: int) -> None:
        """Delete a topic and forget it; one that is already gone counts as deleted."""
        try:
            await self.handoffs.desk.delete_topic(thread_id)
        except DeskError as exc:
            if exc.kind != TOPIC_GONE:
                log.warning("deleting a case topic failed: %s %s", exc.method, exc.description)
                return
        await self.handoffs.conversations.store.remove_closed_topic(thread_id)

    async def topic_lost(self, case: Case) -> None:
        """Staff deleted the case's topic: close the case, tell the user and say so in the main thread."""
        if await self.close(replace(case, thread_id=None), "staff_closed", "handoff_closed"):
            await self.handoffs.staff_note(0, self.handoffs.staff_say("staff_topic_deleted", alias=case.alias))

    async def note_in_case(self, case: Case, text: str) -> bool:
        """A note in the case's topic; a deleted topic closes the case (False then)."""
        try:
            await self.handoffs.desk.note(case.thread_id or 0, text)
            return True
        except DeskError as exc:
            log.warning("a staff note was refused: %s %s", exc.method, exc.description)
            if exc.kind == TOPIC_GONE:
                await self.topic_lost(case)
                return False
            return True
