"""The Signal transport: signal-cli's `receive` notifications in, the engine's replies out as plain text.

A user is their ACI UUID (`sourceUuid`), never their phone number, and even the UUID is turned into
the pseudonymous key at once: the dedupe window and the recent-message list are keyed by it, in memory
only. Nothing here logs a UUID, a number, a name or any text. What comes in is read in inbound.py, what
goes out is sent by send.py; this class wires them to the conversation service.

With `handoffs` (the Telegram staff group running beside it) a Signal user's request for a person opens
a case like a Telegram user's; their messages are relayed as text (bot/transports/signal/desk.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from bot.conversation import Conversations
from bot.engine import ClearChat, Handoff, Media, Outcome, Reply, State, service_card
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.transports.floodgate import FloodGate, Verdict
from bot.transports.signal.inbound import OfferedChoices, SeenWindow, inbound_for
from bot.transports.signal.render import SignalMessage, in_case, signal_reply, swap
from bot.transports.signal.rpc import Backoff, ConnectionLost, RpcError, SignalRpc
from bot.transports.signal.send import SentStamps, SignalSender, UserGone, why
from bot.wording import message_text

TRANSPORT = "signal"
log = logging.getLogger(__name__)

LEFT_GROUPS = 1_000  # groups already left, so a busy group is not quit again on every message
DAY = 86_400

Notify = Callable[[str], Awaitable[None]]


@dataclass
class SignalTransport:
    """One Signal account through one signal-cli daemon, on the shared conversation service."""

    conversations: Conversations
    socket_path: str
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    backoff: Backoff = field(default_factory=Backoff)
    handoffs: Handoffs | None = None  # the staff group's cases; None when Signal runs alone
    notify_staff: Notify | None = None  # the staff group, once Signal cases reach it
    operator_out: TextIO = field(default_factory=lambda: sys.stderr)
    floodgate: FloodGate = field(default_factory=FloodGate)
    seen: SeenWindow = field(default_factory=SeenWindow)
    sent: SentStamps = field(default_factory=SentStamps)
    rpc: SignalRpc = field(init=False)
    sender: SignalSender = field(init=False)
    offered: OfferedChoices = field(default_factory=OfferedChoices, init=False)
    _left: SeenWindow = field(default_factory=lambda: SeenWindow(LEFT_GROUPS), init=False)
    _challenges: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.rpc = SignalRpc(self.socket_path, self.on_receive, self.backoff)
        self.sender = SignalSender(self.rpc, self.captcha_needed, self.clock, self.sleep, self.sent)
        if self.handoffs is not None:
            from bot.transports.signal.desk import SignalMessenger

            self.handoffs.messengers[TRANSPORT] = SignalMessenger(self, self.handoffs.desk)

    async def serve(self, stop: asyncio.Event) -> None:
        """Receive and answer until `stop` is set."""
        await self.rpc.run(stop)

    # -- in ------------------------------------------------------------------------------------

    async def on_receive(self, result: dict[str, Any]) -> None:
        """One `receive` notification: answer a user's message; leave groups; ignore the rest."""
        envelope = result.get("envelope")
        if not isinstance(envelope, dict):
            return
        uuid = envelope.get("sourceUuid")
        data = envelope.get("dataMessage")
        # Receipts, typing, calls, stories and syncs from the account's own devices carry nothing to answer;
        # an edit is shown to staff during a case and otherwise ignored (the reply to the first version stands).
        if isinstance(uuid, str) and uuid and isinstance(envelope.get("editMessage"), dict):
            await self.on_edit(uuid, envelope)
            return
        if not isinstance(uuid, str) or not uuid or not isinstance(data, dict):
            return
        group = data.get("groupInfo")
        if isinstance(group, dict):
            await self.leave_group(group.get("groupId"))
            return
        if data.get("reaction") or data.get("remoteDelete") or data.get("isExpirationUpdate"):
            return
        inbound = inbound_for(data)
        if inbound is None:
            return
        key = self.conversations.keyring.user_key(TRANSPORT, uuid)
        if not self.seen.first_time((key, envelope.get("sourceDevice"), envelope.get("timestamp"))):
            log.info("a repeated Signal message was dropped")
            return
        verdict = self.floodgate.check(key, time.monotonic())
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.WARN:
                log.warning("a Signal user is sending too fast; slowing them down")
                flows = self.conversations.flows
                await self.sender.send_all(
                    uuid, key, (SignalMessage(self.say("slow_down", flows.settings.default_language)),)
                )
            return
        expires = data.get("expiresInSeconds")
        timer = expires if isinstance(expires, int) else 0

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(uuid, key, outcome, timer)

        inbound = self.offered.picked(key, inbound)
        if self.handoffs is None:
            await self.conversations.handle(TRANSPORT, uuid, inbound, None, deliver)
            return
        text = data.get("message") if isinstance(data.get("message"), str) else None
        # During a case the message is relayed to staff as text, sealed while it waits in the queue.
        relay = RelayItem(
            "in",
            int(envelope.get("timestamp") or 0),
            text or None,
            is_text=not isinstance(inbound, Media),
            media=inbound.kind if isinstance(inbound, Media) else "",
        )
        caption = text if isinstance(inbound, Media) else None
        await self.handoffs.turns.take_turn(TRANSPORT, uuid, inbound, None, relay, deliver, caption)

    async def on_edit(self, uuid: str, envelope: dict[str, Any]) -> None:
        """An edited message: during a case staff see the new text, marked as an edit; otherwise nothing."""
        edit = envelope["editMessage"]
        data = edit.get("dataMessage")
        text = data.get("message") if isinstance(data, dict) else None
        if self.handoffs is None or not isinstance(text, str) or not text.strip():
            return
        key = self.conversations.keyring.user_key(TRANSPORT, uuid)
        if not self.seen.first_time((key, envelope.get("sourceDevice"), envelope.get("timestamp"))):
            return
        stamp = edit.get("targetSentTimestamp")
        await self.handoffs.turns.user_edited(
            TRANSPORT, uuid, RelayItem("edit", stamp if isinstance(stamp, int) else 0, text)
        )

    async def leave_group(self, group_id: object) -> None:
        """The bot answers private chats only: it leaves any group it is added to."""
        if not isinstance(group_id, str) or not self._left.first_time((group_id,)):
            return
        try:
            await self.rpc.call("quitGroup", {"groupId": group_id})
            log.info("left a Signal group the bot was added to")
        except (RpcError, ConnectionLost, TimeoutError) as exc:
            log.warning("leaving a Signal group failed: %s", why(exc))

    # -- out -----------------------------------------------------------------------------------

    def say(self, key: str, locale: str, **values: object) -> str:
        """A message from flows/messages.yaml in `locale`, filled in."""
        return message_text(self.conversations.flows, key, locale, **values)

    async def carry_out(self, uuid: str, key: bytes, outcome: Outcome, timer: int) -> None:
        """Effects first, then the reply; runs under the user's lock, so replies keep their order."""
        settings = self.conversations.flows.settings
        locale = outcome.state.locale or settings.default_language
        reply = outcome.reply
        # Said without the engine (leaving a chat with staff): its choices are not the current step's.
        bare = outcome.state == State()
        if bare:
            saved = await self.conversations.store.load(key)
            locale = (saved and saved.locale) or locale
        notes: tuple[str, ...] = ()
        seconds = settings.signal_expiration_days * DAY
        # A conversation starting (first contact, or after /forget or the retention purge) turns on
        # disappearing messages, unless the user already keeps them for a shorter time.
        starting = ("conversation", "started") in outcome.events and seconds and not 0 < timer <= seconds
        if starting and await self.sender.set_timer(uuid, seconds):
            notes = (self.say("signal_timer_set", locale, days=settings.signal_expiration_days),)
        for effect in outcome.effects:
            if isinstance(effect, ClearChat):
                await self.sender.clear_chat(uuid, key)
                reply = swap(self.conversations.flows, reply, locale, "cleared", "signal_cleared")
            elif isinstance(effect, Handoff):
                reply = await self.handoff(uuid, effect, locale, reply)
        try:
            await self.sender.send_all(uuid, key, signal_reply(self.conversations.flows, reply, locale, notes))
            if bare and not in_case(reply):
                self.offered.offer(key, reply.buttons)
        except UserGone:
            # Nothing more can reach them; what little the bot kept about them goes now.
            log.info("a Signal user is no longer registered; their session is deleted")
            self.sent.forget(key)
            await self.conversations.store.delete(key)

    async def handoff(self, uuid: str, effect: Handoff, locale: str, reply: Reply) -> Reply:
        """The case was opened in the staff group (the reply says so), or, with no staff group, say honestly
        that Signal can't reach a person here."""
        if self.handoffs is not None:
            return reply
        flows = self.conversations.flows
        cards = tuple(service_card(flows, flows.services[sid], locale) for sid in flows.settings.waiting_services)
        honest = swap(flows, reply, locale, "handoff_requested", "signal_handoff_unavailable")
        return replace(honest, services=cards, services_title="" if cards else honest.services_title)

    async def captcha_needed(self, token: str) -> None:
        """Signal wants a person to solve a captcha before the bot may send again: say so once per token."""
        if token in self._challenges:
            return
        self._challenges.add(token)
        command = f'signal-cli -a "$SIGNAL_ACCOUNT" submitRateLimitChallenge --challenge {token} --captcha CAPTCHA'
        log.error("Signal asks for a captcha before the bot can send again; the command is on stderr")
        # Written past the log redaction on purpose: the token is Signal's challenge, not anyone's
        # identifier, and masking its digits would make the command useless.
        self.operator_out.write(
            "Signal is holding back the bot's messages until a person solves a captcha.\n"
            "1. Open https://signalcaptchas.org/challenge/generate.html and solve it.\n"
            '2. Right-click "Open Signal" and copy the link (it starts with signalcaptcha://).\n'
            f"3. Run, with that link in place of CAPTCHA:\n   {command}\n"
        )
        self.operator_out.flush()
        if self.notify_staff is not None:
            flows = self.conversations.flows
            await self.notify_staff(self.say("staff_signal_captcha", flows.settings.default_language, command=command))
