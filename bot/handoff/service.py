"""Handoff to a person: request, queue, claim, relay, release, close, waiting and expiry.

Transport-agnostic: a `Desk` is where staff see cases (the Telegram staff group's topics), and each
case's user is reached through the messenger of their address's transport (bot/handoff/messengers.py),
so a Signal user's case is a topic like any other. Staff see a case alias, the language and the path;
users see the staff member's chosen alias. Neither side's identity crosses over.

Case changes are single targeted updates that check the case is still there, so a case closed or
forgotten during a call to Telegram is never written back. A case is deleted first and the user told
after, so a user who blocked the bot can't jam a close. Relays go through per-case queues
(bot/handoff/relays.py), so nobody's turn waits for the staff group's limits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bot.conversation import Conversations
from bot.engine import (
    IDENTIFYING_MEDIA,
    Button,
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
    service_card,
)
from bot.flows import FlowSet
from bot.flows.textmatch import normalise
from bot.handoff.address import Address
from bot.handoff.cases import Case, minutes
from bot.handoff.closing import Closing
from bot.handoff.desk import Desk, DeskError
from bot.handoff.messengers import ChatIdMessenger, Messenger, speaks_to_users
from bot.handoff.opening import Opening
from bot.handoff.relaying import Relaying
from bot.handoff.relays import RelayItem, RelayQueues
from bot.handoff.staffside import StaffSide
from bot.handoff.stafftools import StaffTools
from bot.handoff.tick import Ticker
from bot.vocabulary import (
    CRISIS_TRIGGER,
    END_COMMAND,
    FORGET_TRIGGER,
    HANDOFF_NODE,
    EndAction,
    encode_action,
)
from bot.wording import message_text, staff_text

log = logging.getLogger(__name__)

END = Pick(HANDOFF_NODE, encode_action(EndAction()))


def bot_command(inbound: Inbound) -> bool:
    """A command for the bot itself (anything but /end, which closes the chat with staff)."""
    return isinstance(inbound, Command) and inbound.name != END_COMMAND


@dataclass
class Handoffs:
    """The case lifecycle; every method that touches a user runs under that user's lock by its caller."""

    conversations: Conversations
    desk: Desk
    # transport -> how its users are reached; a transport missing here is served by the desk, if it can.
    messengers: dict[str, Messenger] = field(default_factory=dict)
    queues: RelayQueues = field(init=False)
    tools: StaffTools = field(init=False)  # /send, /reply, /block and friends
    relaying: Relaying = field(init=False)  # messages both ways, sent by the queues
    closing: Closing = field(init=False)  # closing and forgetting cases, deleting topics
    opening: Opening = field(init=False)  # a new case and its topic
    ticker: Ticker = field(init=False)  # nudges, expiry, old transcripts
    staff: StaffSide = field(init=False)  # staff messages and commands, claims, /queue

    def __post_init__(self) -> None:
        self.relaying = Relaying(self)
        self.closing = Closing(self)
        self.opening = Opening(self)
        self.ticker = Ticker(self)
        self.staff = StaffSide(self)
        self.queues = RelayQueues(self.conversations.store, self.conversations.keyring, self.relaying.send_relay)
        self.tools = StaffTools(self)

    @property
    def flows(self) -> FlowSet:
        return self.conversations.flows

    def now_minutes(self) -> int:
        return minutes(self.conversations.clock().timestamp())

    def today(self) -> int:
        return self.conversations.local_now().date().toordinal()

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

    def address_of(self, case: Case) -> Address | None:
        """The case's user's address, unsealed; None when the secret changed since the case opened."""
        return Address.parse(self.conversations.keyring.unseal_address(case.sealed_chat, case.alias.encode()))

    def messenger_for(self, address: Address) -> Messenger:
        """The messenger of the address's transport; raises DeskError when none is running."""
        messenger = self.messengers.get(address.transport)
        if messenger is not None:
            return messenger
        if speaks_to_users(self.desk) and address.user.lstrip("-").isdigit():
            return ChatIdMessenger(self.desk)  # type: ignore[arg-type]
        raise DeskError("send", f"{address.transport} is not running in this bot, so the user can't be reached")

    def waiting_cards(self, locale: str) -> Reply:
        """The 24-hour services (crisis first, as listed in settings) as cards with their title."""
        services = self.flows.services
        cards = tuple(service_card(self.flows, services[sid], locale) for sid in self.flows.settings.waiting_services)
        return Reply((), (), cards, self.say("services_title", locale) if cards else "")

    async def staff_note(self, thread_id: int, text: str) -> bool:
        """Post a note to staff; a refusal is logged (never raised), and False returned."""
        try:
            await self.desk.note(thread_id, text)
            return True
        except DeskError as exc:
            log.warning("a staff note was refused: %s %s", exc.method, exc.description)
            return False

    # -- the user's side ----------------------------------------------------------------------

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
        address = Address.of(transport, chat_id)
        async with self.conversations.user(transport, chat_id) as key:
            store = self.conversations.store
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
                settings = self.flows.settings
                if self.triggers(caption, (state and state.locale) or settings.default_language, CRISIS_TRIGGER):
                    inbound = Text(caption)
            outcome = await self.conversations.step(key, inbound, language_code, turn)
            reply = outcome.reply
            for effect in outcome.effects:
                if isinstance(effect, Handoff):
                    reply = await self.asked_for_a_person(key, case, address, outcome.state.locale or "", effect.path)
                elif isinstance(effect, Forget):
                    if case is not None:
                        await self.closing.forget_case(case)
                        case = None
                    await self.closing.forget_topics(key)
            if (
                case is not None
                and (bot_command(inbound) or isinstance(inbound, Pick) or crisis)
                and not any(isinstance(e, (Handoff, ClearChat)) for e in outcome.effects)
            ):
                # The bot answered a command (or crisis words) mid-chat: say the chat with staff is still
                # open, and how to end it.
                reply = replace(
                    reply,
                    parts=(*reply.parts, self.say("handoff_still_open", case.locale)),
                    buttons=(*reply.buttons, self.end_button(case.locale)),
                )
            await deliver(replace(outcome, reply=reply))

    async def in_case(
        self, case: Case, inbound: Inbound, relay: RelayItem | None, address: Address, caption: str | None
    ) -> tuple[bool, bool]:
        """A message during an open case: relayed to staff (and flagged when it means crisis), or not.

        Returns (relayed, crisis); crisis words are also answered by the engine, the rest ends here.
        """
        typed = inbound.text if isinstance(inbound, Text) else caption if isinstance(inbound, Media) else None
        crisis = self.triggers(typed, case.locale, CRISIS_TRIGGER)
        # "delete my data" is asked of the bot, even mid-chat: it is honoured, not relayed.
        forgetting = self.triggers(typed, case.locale, FORGET_TRIGGER)
        if isinstance(inbound, Media) and inbound.kind in IDENTIFYING_MEDIA:
            # Never relayed: a contact card carries a Telegram id, a location says where someone is.
            kind = self.staff_say(f"staff_kind_{inbound.kind}")
            await self.staff_note(case.thread_id or 0, self.staff_say("staff_identity_withheld", kind=kind))
            return False, crisis
        if not isinstance(inbound, (Text, Media)) or forgetting:
            return False, crisis
        await self.relaying.user_message(case, relay, address)
        if crisis:
            # Queued behind the message it is about, so staff read them in that order.
            flag = RelayItem("note", 0, self.staff_say("staff_crisis"))
            if not await self.queues.put(case.alias, flag):
                await self.staff_note(case.thread_id or 0, flag.text or "")
        return True, crisis

    async def asked_for_a_person(
        self, key: bytes, case: Case | None, address: Address, locale: str, path: tuple[str, ...]
    ) -> Reply:
        """The answer to "talk to a person": already in a chat, blocked for a while, or a new case."""
        if case is not None:
            return Reply((self.say("handoff_already", case.locale),), (self.end_button(case.locale),))
        if await self.tools.blocked(key):
            # Staff blocked this person for a while: no case, but said kindly, with the 24-hour help.
            return self.tools.blocked_reply(locale or self.flows.settings.default_language)
        return await self.opening.request(key, address, locale, path)

    def bare_outcome(self, reply: Reply) -> Outcome:
        """An outcome that is only a reply (the engine did not run)."""
        return Outcome(State(), reply)

    def triggers(self, typed: str | None, locale: str, trigger_id: str) -> bool:
        """Whether typed text (or a caption) fires the trigger `trigger_id` first."""
        if not typed:
            return False
        trigger = self.flows.trigger_index.first_match(locale, normalise(typed))
        return trigger is not None and trigger.id == trigger_id

    async def user_edited(self, transport: str, chat_id: int | str, relay: RelayItem) -> None:
        """The user edited a message during a live chat: staff get the new version, marked as an edit."""
        async with self.conversations.user(transport, chat_id) as key:
            case = await self.conversations.store.case_for_user(key)
            if case is not None:
                await self.relaying.user_message(case, relay, Address.of(transport, chat_id))

    async def user_ends(self, case: Case) -> Reply:
        """The user left the chat with staff (/end or the button)."""
        await self.closing.close(case, "staff_user_left", None)
        return Reply((self.say("handoff_ended", case.locale),), (self.menu_button(case.locale),))
