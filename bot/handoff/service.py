"""Handoff to a person: request, queue, claim, relay, release, close, waiting and expiry.

Transport-agnostic: a `Desk` is where staff see cases (the Telegram staff group's topics), and each
case's user is reached through the messenger of their address's transport (bot/handoff/messengers.py),
so a Signal user's case is a topic like any other. Staff see a case alias, the language and the path;
users see the staff member's chosen alias. Neither side's identity crosses over.

Case changes are single targeted updates that check the case is still there, so a case closed or
forgotten during a call to Telegram is never written back. A case is deleted first and the user told
after, so a user who blocked the bot can't jam a close. Relays go through per-case queues
(bot/handoff/relays.py), so nobody's turn waits for the staff group's limits.

`Handoffs` holds what every stage shares (the store, the desk, the messengers, the wording) and one part
per stage, each in its own module: the user's turn (turns.py), opening a case (opening.py), relaying
(relaying.py), the staff side (staffside.py), closing and forgetting (closing.py) and the tick (tick.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.conversation import Conversations
from bot.engine import Button, Reply, service_card
from bot.flows import FlowSet
from bot.handoff.address import Address
from bot.handoff.cases import Case, minutes
from bot.handoff.closing import Closing
from bot.handoff.desk import Desk, DeskError
from bot.handoff.messengers import ChatIdMessenger, Messenger, speaks_to_users
from bot.handoff.opening import Opening
from bot.handoff.relaying import Relaying
from bot.handoff.relays import RelayQueues
from bot.handoff.staffside import StaffSide
from bot.handoff.stafftools import StaffTools
from bot.handoff.tick import Ticker
from bot.handoff.turns import END, UserTurns
from bot.wording import message_text, staff_text

log = logging.getLogger(__name__)


@dataclass
class Handoffs:
    """The case lifecycle: one part per stage, and what the parts share.

    Every method that touches a user runs under that user's lock by its caller."""

    conversations: Conversations
    desk: Desk
    # transport -> how its users are reached; a transport missing here is served by the desk, if it can.
    messengers: dict[str, Messenger] = field(default_factory=dict)
    queues: RelayQueues = field(init=False)
    tools: StaffTools = field(init=False)  # /send, /reply, /block and friends
    turns: UserTurns = field(init=False)  # the user's messages, edits and /end
    opening: Opening = field(init=False)  # a new case and its topic
    relaying: Relaying = field(init=False)  # messages both ways, sent by the queues
    staff: StaffSide = field(init=False)  # staff messages and commands, claims, /queue
    closing: Closing = field(init=False)  # closing and forgetting cases, deleting topics
    ticker: Ticker = field(init=False)  # nudges, expiry, old transcripts

    def __post_init__(self) -> None:
        self.turns = UserTurns(self)
        self.opening = Opening(self)
        self.relaying = Relaying(self)
        self.staff = StaffSide(self)
        self.closing = Closing(self)
        self.ticker = Ticker(self)
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
