"""Handoff to a person: request, queue, claim, relay, release, close, waiting and expiry.

Transport-agnostic: a transport supplies a `Desk` (where staff see cases) and the two relays that
copy a message one way or the other. Staff see a case alias, the language and the path; users see
the staff member's chosen alias. Neither side's identity crosses over.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.cases import Case, new_alias
from bot.conversation import Conversations
from bot.engine import (
    Button, Command, Forget, Handoff, Inbound, Outcome, Pick, Reply, State, Text, feedback_buttons, service_card,
)
from bot.flowspec import FlowSet
from bot.hours import format_opening, is_open, next_opening
from bot.keyedlock import KeyedLock
from bot.stats import claim_events
from bot.textmatch import normalise

log = logging.getLogger(__name__)

HANDOFF_NODE = "@handoff"  # pseudo-node for the End chat button
END = Pick(HANDOFF_NODE, "end")
CRISIS_TRIGGER = "crisis"  # the trigger id whose words are answered first, even mid-handoff
FORGET_TRIGGER = "forget"  # the trigger id whose words delete the user's data, even mid-handoff
MAX_ALIAS = 32
TOPIC_TITLE_MAX = 128


class Desk(Protocol):
    """Where staff see cases, and how the bot speaks to both sides."""

    async def open_topic(self, title: str) -> int:
        """Open a topic for a case and return its id."""

    async def note(self, thread_id: int, text: str) -> None:
        """Post a bot note to staff in a case topic (or the group's main thread when 0)."""

    async def close_topic(self, thread_id: int) -> None:
        """Close a case topic."""

    async def tell_user(self, chat_id: int, reply: Reply) -> None:
        """Send a bot message about the handoff to a user."""


Relay = Callable[[int], Awaitable[None]]  # copy the message being handled into/out of a case


def fill(template: str, **values: object) -> str:
    """`str.format` that never raises on a translator's typo: a broken template is shown unfilled."""
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def message_text(flows: FlowSet, key: str, locale: str, /, **values: object) -> str:
    """A message from flows/messages.yaml in `locale`, filled in."""
    return fill(flows.texts.get(locale, flows.messages[key]), **values)


def staff_text(flows: FlowSet, key: str, /, **values: object) -> str:
    """A staff message from flows/messages.yaml, in the default language (staff read it), filled in."""
    return message_text(flows, key, flows.settings.default_language, **values)


def path_label(path: tuple[str, ...]) -> str:
    """`testing › pep` for the last node of the path taken."""
    return " › ".join(path[-1].split(".", 1)) if path else "start"


def minutes(clock_seconds: float) -> int:
    """Whole minutes since the epoch: all the precision a case keeps."""
    return int(clock_seconds // 60)


@dataclass
class Handoffs:
    """The case lifecycle; every method that touches a user runs under that user's lock by its caller."""

    conversations: Conversations
    desk: Desk
    _staff_locks: KeyedLock = field(default_factory=KeyedLock)

    @property
    def flows(self) -> FlowSet:
        return self.conversations.flows

    def now_minutes(self) -> int:
        return minutes(self.conversations.clock().timestamp())

    def say(self, key: str, locale: str, **values: object) -> str:
        """A message from flows/messages.yaml in `locale`, filled in."""
        return message_text(self.flows, key, locale, **values)

    def staff_say(self, key: str, **values: object) -> str:
        """A staff note (staff read the default language)."""
        return staff_text(self.flows, key, **values)

    def end_button(self, locale: str) -> Button:
        return Button(self.say("button_end_chat", locale), END.node, END.action)

    def menu_button(self, locale: str) -> Button:
        return Button(self.say("button_menu", locale), self.flows.settings.menu, "menu")

    def chat_of(self, case: Case) -> int | None:
        return self.conversations.keyring.unseal_chat_id(case.sealed_chat, case.alias.encode())

    # -- the user's side ----------------------------------------------------------------------

    async def take_turn(
        self,
        transport: str,
        chat_id: int,
        inbound: Inbound,
        language_code: str | None,
        relay_in: Relay,
        deliver: Callable[[Outcome], Awaitable[None]],
    ) -> None:
        """Everything a user's message causes: relay into an open case, or step the engine.

        Runs under the user's lock, so relays and replies keep the order the user wrote in.
        """
        async with self.conversations.user(transport, chat_id) as key:
            store = self.conversations.store
            case = await store.case_for_user(key)
            if case is not None:
                if inbound == END or inbound == Command("end"):
                    await deliver(self.bare_outcome(await self.user_ends(case)))
                    return
                if isinstance(inbound, Pick):
                    reply = Reply((self.say("handoff_in_progress", case.locale),), (self.end_button(case.locale),))
                    await deliver(self.bare_outcome(reply))
                    return
                crisis = self.triggers(inbound, case.locale, CRISIS_TRIGGER)
                # "delete my data" is asked of the bot, even mid-chat: it is honoured, not relayed.
                forgetting = inbound == Command("forget") or self.triggers(inbound, case.locale, FORGET_TRIGGER)
                if not forgetting:
                    await self.user_message(case, relay_in)
                    if not crisis:
                        return
                    await self.desk.note(case.thread_id or 0, self.staff_say("staff_crisis"))
            outcome = await self.conversations.step(key, inbound, language_code)
            reply = outcome.reply
            for effect in outcome.effects:
                if isinstance(effect, Handoff):
                    if case is not None:
                        reply = Reply((self.say("handoff_already", case.locale),), (self.end_button(case.locale),))
                    else:
                        reply = await self.request(key, chat_id, outcome.state.locale or "", effect.path)
                elif isinstance(effect, Forget) and case is not None:
                    await self.close(case, "staff_user_left", None)
            await deliver(replace(outcome, reply=reply))

    def bare_outcome(self, reply: Reply) -> Outcome:
        """An outcome that is only a reply (the engine did not run)."""
        return Outcome(State(), reply)

    def triggers(self, inbound: Inbound, locale: str, trigger_id: str) -> bool:
        """Whether typed text fires the trigger `trigger_id` first."""
        if not isinstance(inbound, Text):
            return False
        trigger = self.flows.trigger_index.first_match(locale, normalise(inbound.text))
        return trigger is not None and trigger.id == trigger_id

    async def request(self, key: bytes, chat_id: int, locale: str, path: tuple[str, ...]) -> Reply:
        """Open a case and a staff topic; tell the user their place in the queue or when staff are back."""
        store = self.conversations.store
        alias = new_alias()
        while await store.case_by_alias(alias) is not None:
            alias = new_alias()
        now = self.now_minutes()
        case = Case(
            alias=alias,
            user_key=key,
            sealed_chat=self.conversations.keyring.seal_chat_id(chat_id, alias.encode()),
            locale=locale,
            path=path,
            opened=now,
            active=now,
        )
        title = f"Case {alias} · {locale} · {path_label(path)}"[:TOPIC_TITLE_MAX]
        thread_id = await self.desk.open_topic(title)
        case = replace(case, thread_id=thread_id)
        await store.save_case(case)
        settings = self.flows.settings
        wall = self.conversations.local_now()
        staff_in = is_open(wall, settings)
        hours_note = "" if staff_in or not settings.staff_hours else self.staff_say("staff_out_of_hours") + "\n"
        await self.desk.note(
            thread_id,
            self.staff_say("staff_case_opened", alias=alias, language=locale, path=path_label(path), hours=hours_note),
        )
        buttons = (self.end_button(locale),)
        if not settings.staff_hours:
            return Reply((self.say("handoff_no_hours", locale),), buttons)
        if staff_in:
            waiting = [c for c in await store.open_cases() if c.claimed is None]
            return Reply((self.say("handoff_queued", locale, position=len(waiting)),), buttons)
        opening = next_opening(wall, settings)
        if opening is None:
            return Reply((self.say("handoff_no_hours", locale),), buttons)
        when = format_opening(opening, wall, locale)
        return Reply((self.say("handoff_out_of_hours", locale, when=when),), buttons)

    async def user_message(self, case: Case, relay_in: Relay) -> None:
        """Copy the user's message into the case topic and note the activity."""
        if case.thread_id is not None:
            await relay_in(case.thread_id)
        await self.conversations.store.save_case(replace(case, active=self.now_minutes()))

    async def user_ends(self, case: Case) -> Reply:
        """The user left the chat with staff (/end or the button)."""
        await self.close(case, "staff_user_left", None)
        return Reply((self.say("handoff_ended", case.locale),), (self.menu_button(case.locale),))

    async def close(self, case: Case, staff_note: str, user_note: str | None) -> None:
        """End a case: note it to staff, tell the user if asked, delete the case and its sealed link."""
        if user_note is not None:
            chat_id = self.chat_of(case)
            if chat_id is not None:
                buttons: tuple[Button, ...] = (self.menu_button(case.locale),)
                if user_note in ("handoff_closed", "handoff_expired"):
                    # After a chat with staff: the optional one-tap "Did this help?", counted per day only.
                    buttons += feedback_buttons(self.flows, case.locale)
                await self.desk.tell_user(chat_id, Reply((self.say(user_note, case.locale),), buttons))
        await self.conversations.store.remove_case(case.alias)
        if case.thread_id is not None:
            await self.desk.note(case.thread_id, self.staff_say(staff_note))
            await self.desk.close_topic(case.thread_id)

    # -- the staff side -----------------------------------------------------------------------

    async def staff_input(self, thread_id: int, text: str | None, relay_out: Callable[[int, str], Awaitable[None]]) -> None:
        """A staff message in a topic: a command, an internal `!` note, or a reply to relay to the user."""
        async with self._staff_locks.hold(thread_id):
            case = await self.conversations.store.case_for_thread(thread_id)
            if case is None:
                return  # a topic of a closed case, or not a case at all
            stripped = (text or "").strip()
            if stripped.startswith("!"):
                return  # an internal note: never relayed
            if stripped.startswith("/"):
                name, _, arg = stripped[1:].partition(" ")
                await self.staff_command(case, name.split("@", 1)[0].lower(), arg.strip())
                return
            chat_id = self.chat_of(case)
            if chat_id is None:
                # The secret changed since the case opened: nobody can reach the user through it any more.
                log.warning("a case's chat link could not be opened; closing it")
                await self.close(case, "staff_link_lost", None)
                return
            if case.claimed is None:
                case = await self.claim(case)
            await relay_out(chat_id, case.staff_alias or self.say("staff_default_alias", case.locale))
            await self.conversations.store.save_case(replace(case, active=self.now_minutes()))

    async def claim(self, case: Case) -> Case:
        name = case.staff_alias or self.say("staff_default_alias", case.locale)
        first_claim, now = case.claimed is None, self.now_minutes()
        case = replace(case, claimed=now, staff_alias=name, active=now)
        await self.conversations.store.save_case(case)
        if first_claim:
            # Only the day's aggregate keeps the wait, in a coarse bucket; the case itself is deleted on close.
            day = self.conversations.local_now().date().toordinal()
            await self.conversations.store.count(day, claim_events(now - case.opened))
        chat_id = self.chat_of(case)
        if chat_id is not None:
            await self.desk.tell_user(chat_id, Reply((self.say("handoff_claimed", case.locale, name=name),)))
        if case.thread_id is not None:
            await self.desk.note(case.thread_id, self.staff_say("staff_claimed", name=name))
        return case

    async def staff_command(self, case: Case, name: str, arg: str) -> None:
        thread = case.thread_id or 0
        if name == "claim":
            await self.claim(case)
        elif name == "alias":
            alias = " ".join(arg.split())
            if not alias or len(alias) > MAX_ALIAS:
                await self.desk.note(thread, self.staff_say("staff_alias_invalid"))
                return
            await self.conversations.store.save_case(replace(case, staff_alias=alias))
            await self.desk.note(thread, self.staff_say("staff_alias_set", name=alias))
        elif name == "release":
            await self.close(case, "staff_released", "handoff_released")
        elif name == "close":
            await self.close(case, "staff_closed", "handoff_closed")
        else:
            await self.desk.note(thread, self.staff_say("staff_unknown_command"))

    async def queue(self) -> str:
        """The answer to /queue: open cases with their waiting times."""
        cases = await self.conversations.store.open_cases()
        if not cases:
            return self.staff_say("staff_queue_empty")
        now = self.now_minutes()
        lines = [self.staff_say("staff_queue_header", count=len(cases))]
        for case in cases:
            if case.claimed is None:
                state = self.staff_say("staff_state_waiting")
            else:
                state = self.staff_say("staff_state_claimed", name=case.staff_alias or "")
            lines.append(self.staff_say("staff_queue_line", alias=case.alias, language=case.locale,
                                        waiting=now - case.opened, state=state))
        return "\n".join(lines)

    # -- time ---------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Run periodically: one waiting message for unclaimed cases in hours; close quiet cases."""
        settings = self.flows.settings
        now = self.now_minutes()
        staff_in = is_open(self.conversations.local_now(), settings) or not settings.staff_hours
        for case in await self.conversations.store.open_cases():
            if now - case.active >= settings.handoff_idle_minutes:
                await self.close(case, "staff_expired", "handoff_expired")
                continue
            waited = now - case.opened
            if case.claimed is None and not case.nudged and staff_in and waited >= settings.handoff_nudge_minutes:
                await self.conversations.store.save_case(replace(case, nudged=True))
                chat_id = self.chat_of(case)
                if chat_id is not None:
                    services = self.flows.services
                    cards = tuple(service_card(self.flows, services[sid], case.locale) for sid in settings.waiting_services)
                    title = self.say("services_title", case.locale)
                    reply = Reply((self.say("handoff_waiting", case.locale),), (self.end_button(case.locale),), cards, title)
                    await self.desk.tell_user(chat_id, reply)
