"""The user's side of a case: each message a user sends during it, their edits, and their leaving it.

A message during an open case is queued for staff (bot/handoff/relaying.py) and the turn ends there.
Commands and button presses are the bot's to answer, and so is "delete my data"; crisis words go to
both (flagged for staff). Contact cards and locations are never relayed: staff are told one was withheld.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.engine import (
    IDENTIFYING_MEDIA,
    ClearChat,
    Command,
    Forget,
    Handoff,
    Inbound,
    Media,
    Outcome,
    Pick,
    Reply,
    State,
    Text,
)
from bot.flows.textmatch import normalise
from bot.handoff.address import Address
from bot.handoff.cases import Case
from bot.handoff.relays import RelayItem
from bot.vocabulary import CRISIS_TRIGGER, END_COMMAND, FORGET_TRIGGER, HANDOFF_NODE, EndAction, encode_action

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

END = Pick(HANDOFF_NODE, encode_action(EndAction()))


def bot_command(inbound: Inbound) -> bool:
    """A command for the bot itself (anything but /end, which closes the chat with staff)."""
    return isinstance(inbound, Command) and inbound.name != END_COMMAND


@dataclass
class UserTurns:
    """A user's messages and edits; each runs under that user's lock."""

    handoffs: Handoffs

    async def take_turn(
        self,
        transport: str,
        chat_id: int | str,
        inbound: Inbound,
        language_code: str | None,
        relay: RelayItem | None,
        deliver: Callable[[Outcome], Awaitable[None]],
        caption: str | None = None,
    ) -> None:
        """Everything a user's message causes: queue it for the case, or step the engine.

        Runs under the user's lock; the relay is only queued here, so the turn ends at once.
        """
        handoffs = self.handoffs
        address = Address.of(transport, chat_id)
        async with handoffs.conversations.user(transport, chat_id) as key:
            store = handoffs.conversations.store
            turn = await store.load_turn(key)  # the state and the open case, one read for the whole turn
            case = turn.case
            crisis = False
            if case is not None:
                if inbound == END or inbound == Command(END_COMMAND):
                    await deliver(self.bare_outcome(await self.user_ends(case)))
                    return
                relayed, crisis = await self.in_case(case, inbound, relay, address, caption)
                if relayed and not crisis:
                    return
            if isinstance(inbound, Media) and caption:
                # A captioned photo ("he hit me, I'm not safe") is read like typed words when they mean crisis.
                state = turn.state
                settings = handoffs.flows.settings
                if self.triggers(caption, (state and state.locale) or settings.default_language, CRISIS_TRIGGER):
                    inbound = Text(caption)
            outcome = await handoffs.conversations.step(key, inbound, language_code, turn)
            reply = outcome.reply
            for effect in outcome.effects:
                if isinstance(effect, Handoff):
                    reply = await self.asked_for_a_person(key, case, address, outcome.state.locale or "", effect.path)
                elif isinstance(effect, Forget):
                    if case is not None:
                        await handoffs.closing.forget_case(case)
                        case = None
                    await handoffs.closing.forget_topics(key)
            if (
                case is not None
                and (bot_command(inbound) or isinstance(inbound, Pick) or crisis)
                and not any(isinstance(e, (Handoff, ClearChat)) for e in outcome.effects)
            ):
                # The bot answered a command (or crisis words) mid-chat: say the chat with staff is still
                # open, and how to end it.
                reply = replace(
                    reply,
                    parts=(*reply.parts, handoffs.say("handoff_still_open", case.locale)),
                    buttons=(*reply.buttons, handoffs.end_button(case.locale)),
                )
            await deliver(replace(outcome, reply=reply))

    async def in_case(
        self, case: Case, inbound: Inbound, relay: RelayItem | None, address: Address, caption: str | None
    ) -> tuple[bool, bool]:
        """A message during an open case: relayed to staff (and flagged when it means crisis), or not.

        Returns (relayed, crisis); crisis words are also answered by the engine, the rest ends here.
        """
        handoffs = self.handoffs
        typed = inbound.text if isinstance(inbound, Text) else caption if isinstance(inbound, Media) else None
        crisis = self.triggers(typed, case.locale, CRISIS_TRIGGER)
        # "delete my data" is asked of the bot, even mid-chat: it is honoured, not relayed.
        forgetting = self.triggers(typed, case.locale, FORGET_TRIGGER)
        if isinstance(inbound, Media) and inbound.kind in IDENTIFYING_MEDIA:
            # Never relayed: a contact card carries a Telegram id, a location says where someone is.
            kind = handoffs.staff_say(f"staff_kind_{inbound.kind}")
            await handoffs.staff_note(case.thread_id or 0, handoffs.staff_say("staff_identity_withheld", kind=kind))
            return False, crisis
        if not isinstance(inbound, (Text, Media)) or forgetting:
            return False, crisis
        await handoffs.relaying.user_message(case, relay, address)
        if crisis:
            # Queued behind the message it is about, so staff read them in that order.
            flag = RelayItem("note", 0, handoffs.staff_say("staff_crisis"))
            if not await handoffs.queues.put(case.alias, flag):
                await handoffs.staff_note(case.thread_id or 0, flag.text or "")
        return True, crisis

    async def asked_for_a_person(
        self, key: bytes, case: Case | None, address: Address, locale: str, path: tuple[str, ...]
    ) -> Reply:
        """The answer to "talk to a person": already in a chat, blocked for a while, or a new case."""
        handoffs = self.handoffs
        if case is not None:
            return Reply((handoffs.say("handoff_already", case.locale),), (handoffs.end_button(case.locale),))
        if await handoffs.tools.blocked(key):
            # Staff blocked this person for a while: no case, but said kindly, with the 24-hour help.
            return handoffs.tools.blocked_reply(locale or handoffs.flows.settings.default_language)
        return await handoffs.opening.request(key, address, locale, path)

    async def user_ends(self, case: Case) -> Reply:
        """The user left the chat with staff (/end or the button)."""
        handoffs = self.handoffs
        await handoffs.closing.close(case, "staff_user_left", None)
        return Reply((handoffs.say("handoff_ended", case.locale),), (handoffs.menu_button(case.locale),))

    def bare_outcome(self, reply: Reply) -> Outcome:
        """An outcome that is only a reply (the engine did not run)."""
        return Outcome(State(), reply)

    def triggers(self, typed: str | None, locale: str, trigger_id: str) -> bool:
        """Whether typed text (or a caption) fires the trigger `trigger_id` first."""
        if not typed:
            return False
        trigger = self.handoffs.flows.trigger_index.first_match(locale, normalise(typed))
        return trigger is not None and trigger.id == trigger_id

    async def user_edited(self, transport: str, chat_id: int | str, relay: RelayItem) -> None:
        """The user edited a message during a live chat: staff get the new version, marked as an edit."""
        handoffs = self.handoffs
        async with handoffs.conversations.user(transport, chat_id) as key:
            case = await handoffs.conversations.store.case_for_user(key)
            if case is not None:
                await handoffs.relaying.user_message(case, relay, Address.of(transport, chat_id))
