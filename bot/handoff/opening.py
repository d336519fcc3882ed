"""Opening a case: the case itself, its staff topic, and what the user is told while they wait.

A user may open `handoff_openings_per_hour` topics an hour; past that their last topic is reopened
instead of a new one. A topic that can't be opened is tried again by the tick, and staff are told once,
in the main thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.engine import Reply
from bot.handoff.address import Address
from bot.handoff.cases import Case, new_alias
from bot.handoff.desk import DeskError
from bot.handoff.hours import format_opening, is_open, next_opening

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

log = logging.getLogger(__name__)

TOPIC_TITLE_MAX = 128
OPENING_WINDOW_MINUTES = 60  # case openings per user are counted over this window


def path_label(path: tuple[str, ...]) -> str:
    """`testing › pep` for the last node of the path taken."""
    return " › ".join(path[-1].split(".", 1)) if path else "start"


@dataclass
class Opening:
    """Opens cases and their topics."""

    handoffs: Handoffs
    # user key -> minutes and topics of their recent openings; kept in memory only, for an hour.
    _openings: dict[bytes, list[tuple[int, int]]] = field(default_factory=dict)
    _told_no_topic: set[str] = field(default_factory=set)

    async def request(self, key: bytes, address: Address, locale: str, path: tuple[str, ...]) -> Reply:
        """Open a case and a staff topic; tell the user their place in the queue or when staff are back."""
        handoffs = self.handoffs
        store = handoffs.conversations.store
        alias = new_alias()
        while await store.case_by_alias(alias) is not None:
            alias = new_alias()
        now = handoffs.now_minutes()
        case = Case(
            alias=alias,
            user_key=key,
            sealed_chat=handoffs.conversations.keyring.seal_address(str(address), alias.encode()),
            locale=locale,
            path=path,
            opened=now,
            active=now,
        )
        await store.insert_case(case)  # kept even when no topic can be opened yet
        settings = handoffs.flows.settings
        wall = handoffs.conversations.local_now()
        staff_in = is_open(wall, settings)
        hours_note = "" if staff_in or not settings.staff_hours else handoffs.staff_say("staff_out_of_hours") + "\n"
        thread_id = await self.open_case_topic(case, now, hours_note)
        buttons = (handoffs.end_button(locale),)
        cards = handoffs.waiting_cards(locale)
        if thread_id is None:
            return replace(cards, parts=(handoffs.say("handoff_delayed", locale),), buttons=buttons)
        if not settings.staff_hours:
            return Reply((handoffs.say("handoff_no_hours", locale),), buttons)
        if staff_in:
            waiting = [c for c in await store.open_cases() if c.claimed is None]
            return Reply((handoffs.say("handoff_queued", locale, position=len(waiting)),), buttons)
        opening = next_opening(wall, settings)
        if opening is None:
            return replace(cards, parts=(handoffs.say("handoff_no_hours", locale),), buttons=buttons)
        when = format_opening(opening, wall, locale)
        # Nobody is in: say honestly when someone will read this, and give the 24-hour services now.
        return replace(cards, parts=(handoffs.say("handoff_out_of_hours", locale, when=when),), buttons=buttons)

    async def open_case_topic(self, case: Case, now: int, hours_note: str = "") -> int | None:
        """Open (or, past the hourly limit, reuse) the case's topic; on refusal tell staff in the main thread."""
        handoffs = self.handoffs
        store = handoffs.conversations.store
        recent = [(m, t) for m, t in self._openings.get(case.user_key, []) if now - m < OPENING_WINDOW_MINUTES]
        title = f"Case {case.alias} · {case.locale} · {path_label(case.path)}"[:TOPIC_TITLE_MAX]
        thread_id: int | None = None
        reused = False
        if len(recent) >= handoffs.flows.settings.handoff_openings_per_hour:
            thread_id = recent[-1][1]
            try:
                await handoffs.desk.reopen_topic(thread_id)
                reused = True
            except DeskError as exc:
                log.warning("reopening a case topic failed: %s %s", exc.method, exc.description)
                thread_id = None
        if thread_id is None:
            try:
                thread_id = await handoffs.desk.open_topic(title)
            except DeskError as exc:
                log.warning("a case topic could not be opened: %s %s", exc.method, exc.description)
                if case.alias not in self._told_no_topic:  # once per case, not at every retry
                    self._told_no_topic.add(case.alias)
                    await handoffs.staff_note(
                        0, handoffs.staff_say("staff_topic_failed", alias=case.alias, reason=exc.description)
                    )
                return None
            self._told_no_topic.discard(case.alias)
            recent.append((now, thread_id))
        self._openings[case.user_key] = recent
        await store.remove_closed_topic(thread_id)
        if not await store.set_case_thread(case.alias, thread_id):
            return None  # the user left meanwhile
        opened = handoffs.staff_say(
            "staff_case_opened", alias=case.alias, language=case.locale, path=path_label(case.path), hours=hours_note
        )
        if reused:
            opened = handoffs.staff_say("staff_topic_reused") + "\n" + opened
        if not await handoffs.closing.note_in_case(replace(case, thread_id=thread_id), opened):
            return None
        handoffs.queues.kick(case.alias)  # messages written while there was no topic
        return thread_id
