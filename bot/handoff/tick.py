"""The tick: what time does to cases, run periodically by the runtime.

A topic that couldn't be opened is tried again; a claimed chat gone quiet and a request nobody answered
are closed (both counted in staff hours only); a waiting user is sent the waiting message once; and the
topics of cases closed long ago are deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.handoff.cases import Case, moment
from bot.handoff.hours import is_open, staff_minutes_between

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

log = logging.getLogger(__name__)


@dataclass
class Ticker:
    """Nudges, expiry and old transcripts, case by case."""

    handoffs: Handoffs

    async def tick(self) -> None:
        """Run periodically: each case on its own (one failing never stops the others), then old transcripts."""
        for case in await self.handoffs.conversations.store.open_cases():
            try:
                await self.tick_case(case)
            except Exception as exc:
                log.error("a case failed in the tick: %s", type(exc).__name__)
        try:
            await self.delete_old_transcripts()
        except Exception as exc:
            log.error("deleting old transcripts failed: %s", type(exc).__name__)

    async def tick_case(self, case: Case) -> None:
        """Open a topic that couldn't be opened; close a claimed chat gone quiet or a request nobody could answer
        (both counted in staff hours); send the waiting message once."""
        handoffs = self.handoffs
        settings = handoffs.flows.settings
        now = handoffs.now_minutes()
        wall = handoffs.conversations.clock()
        if case.thread_id is None:
            await handoffs.opening.open_case_topic(case, now)
            return
        if case.claimed is not None:
            if staff_minutes_between(moment(case.active), wall, settings) >= settings.handoff_idle_minutes:
                await handoffs.closing.close(case, "staff_expired", "handoff_expired")
            return
        waited = staff_minutes_between(moment(case.opened), wall, settings)
        if waited >= settings.handoff_unclaimed_minutes:
            await handoffs.closing.close(case, "staff_unanswered", "handoff_unanswered")
            return
        staff_in = is_open(wall, settings) or not settings.staff_hours
        if not case.nudged and staff_in and waited >= settings.handoff_nudge_minutes:
            if not await handoffs.conversations.store.mark_nudged(case.alias):
                return
            address = handoffs.address_of(case)
            if address is not None:
                cards = handoffs.waiting_cards(case.locale)
                await handoffs.relaying.tell(
                    case,
                    address,
                    replace(
                        cards,
                        parts=(handoffs.say("handoff_waiting", case.locale),),
                        buttons=(handoffs.end_button(case.locale),),
                    ),
                )

    async def delete_old_transcripts(self) -> None:
        """Delete the topics of cases closed more than `transcript_days` ago."""
        handoffs = self.handoffs
        store = handoffs.conversations.store
        for thread_id in await store.expired_topics(handoffs.today() - handoffs.flows.settings.transcript_days):
            await handoffs.closing.delete_topic(thread_id)
