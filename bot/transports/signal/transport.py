"""The Signal transport: signal-cli's `receive` notifications in, the engine's replies out as plain text.

A user is their ACI UUID (`sourceUuid`), never their phone number, and even the UUID is turned into
the pseudonymous key at once: the dedupe window and the recent-message list are keyed by it, in memory
only. Nothing here logs a UUID, a number, a name or any text.

With `handoffs` (the Telegram staff group running beside it) a Signal user's request for a person opens
a case like a Telegram user's; their messages are relayed as text (bot/transports/signal/desk.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from bot.conversation import Conversations
from bot.engine import (
    Button,
    ClearChat,
    Command,
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
from bot.flows.textmatch import normalise
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.transports.floodgate import FloodGate, Verdict
from bot.transports.recent import RecentMessages
from bot.transports.signal.render import SignalMessage, in_case, signal_reply, swap
from bot.transports.signal.rpc import Backoff, ConnectionLost, RpcError, SignalRpc
from bot.vocabulary import parse_slash
from bot.wording import message_text

TRANSPORT = "signal"
log = logging.getLogger(__name__)

DELETABLE_FOR = 24 * 3600 - 300  # Signal's apps honour a remote delete for about a day
RECENT_PER_USER = 50  # the bot's own sent timestamps kept per user for /clear
SEEN_WINDOW = 10_000  # (user, device, timestamp) triples remembered to drop repeated envelopes
LEFT_GROUPS = 1_000  # groups already left, so a busy group is not quit again on every message
OFFERED = 1_000  # users whose last handoff message offered choices (kept in memory, one answer each)
MAX_ATTEMPTS = 3  # tries per message: the first, plus retries after a rate limit or network failure
MAX_WAIT = 600  # the longest rate-limit wait honoured while holding one user's turn (seconds)
NETWORK_RETRY = 2.0  # seconds before retrying a network failure
DAY = 86_400
# signal-cli's JSON-RPC error codes (SignalJsonRpcCommandHandler).
USER_ERROR, IO_ERROR, UNTRUSTED_IDENTITY, RATE_LIMITED = -1, -3, -4, -5
SUCCESS = "SUCCESS"
UNREGISTERED = "UNREGISTERED_FAILURE"
IDENTITY = "IDENTITY_FAILURE"
RATE_LIMIT = "RATE_LIMIT_FAILURE"
TRANSIENT = frozenset({"NETWORK_FAILURE", "INVALID_PRE_KEY_FAILURE", "IO_ERROR"})

Notify = Callable[[str], Awaitable[None]]


class UserGone(Exception):
    """The recipient is no longer on Signal (unregistered)."""


class NotDelivered(Exception):
    """A send failed for good (after its retries); `failure` says why."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.kind)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a send did not reach its recipient: signal-cli's result type, and what it asks of us."""

    kind: str
    retry_after: int | None = None
    token: str | None = None


def first_failure(result: Any) -> Failure | None:
    """The first recipient result that is not a success; a partial failure still comes back as a result."""
    results = result.get("results") if isinstance(result, dict) else None
    for item in results or ():
        if not isinstance(item, dict) or item.get("type") == SUCCESS:
            continue
        retry = item.get("retryAfterSeconds")
        token = item.get("token")
        return Failure(
            str(item.get("type")),
            int(retry) if isinstance(retry, int) else None,
            token if isinstance(token, str) and token else None,
        )
    return None


def failure_of_error(error: RpcError) -> Failure:
    """What an error reply means for this send."""
    response = error.data.get("response") if isinstance(error.data, dict) else None
    found = first_failure(response)
    if error.code == RATE_LIMITED:
        if found is not None and found.kind == RATE_LIMIT:
            return found
        return Failure(RATE_LIMIT)
    if error.code == UNTRUSTED_IDENTITY:
        return Failure(IDENTITY)
    if error.code == USER_ERROR and (
        (found is not None and found.kind == UNREGISTERED) or "not registered" in error.message
    ):
        return Failure(UNREGISTERED)
    if error.code == IO_ERROR:
        return Failure("IO_ERROR")
    return found or Failure(f"ERROR {error.code}")


def inbound_for(data: dict[str, Any]) -> Inbound | None:
    """What a data message means to the engine, or None for one with nothing to answer."""
    if data.get("contacts"):
        return Media("contact")
    attachments = data.get("attachments")
    if attachments:
        first = attachments[0] if isinstance(attachments, list) and isinstance(attachments[0], dict) else {}
        kind = str(first.get("contentType") or "").split("/", 1)[0]
        return Media({"image": "photo", "audio": "voice", "video": "video"}.get(kind, "document"))
    if data.get("sticker"):
        return Media("sticker")
    if data.get("pollCreate") or data.get("pollVote"):
        return Media("poll")
    if data.get("payment"):
        return Media("other")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return None
    slash = parse_slash(text)
    return Command(slash.name, slash.arg) if slash else Text(text.strip())


@dataclass
class SeenWindow:
    """The last `size` message identities, so a repeated envelope is not handled twice."""

    size: int = SEEN_WINDOW
    _seen: OrderedDict[tuple[object, ...], None] = field(default_factory=OrderedDict)

    def first_time(self, identity: tuple[object, ...]) -> bool:
        """Remember `identity`; False if it was seen already."""
        if identity in self._seen:
            return False
        self._seen[identity] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


class SentStamps(RecentMessages[bytes]):
    """The bot's own recent messages per user (Signal timestamps), in memory only, for /clear."""

    def __init__(self, per_user: int = RECENT_PER_USER) -> None:
        super().__init__(per_chat=per_user, deletable_for=DELETABLE_FOR)


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
    _left: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False)
    _challenges: set[str] = field(default_factory=set, init=False)
    _offered: OrderedDict[bytes, tuple[Button, ...]] = field(default_factory=OrderedDict, init=False)

    def __post_init__(self) -> None:
        self.rpc = SignalRpc(self.socket_path, self.on_receive, self.backoff)
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
                await self.send_all(uuid, key, (SignalMessage(self.say("slow_down", flows.settings.default_language)),))
            return
        expires = data.get("expiresInSeconds")
        timer = expires if isinstance(expires, int) else 0

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(uuid, key, outcome, timer)

        inbound = self.picked(key, inbound)
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

    def offer(self, key: bytes, buttons: tuple[Button, ...]) -> None:
        """Remember the choices of a message sent outside the engine (a case's closing), so a typed number
        or label picks one as a button press would on Telegram."""
        self._offered.pop(key, None)
        if buttons:
            self._offered[key] = buttons
            while len(self._offered) > OFFERED:
                self._offered.popitem(last=False)

    def picked(self, key: bytes, inbound: Inbound) -> Inbound:
        """The user's answer to choices offered outside the engine, as the press it stands for; the offer
        lasts for one message."""
        buttons = self._offered.pop(key, ())
        if not buttons or not isinstance(inbound, Text):
            return inbound
        said = normalise(inbound.text)
        for number, button in enumerate(buttons, start=1):
            if said in (str(number), normalise(button.label)):
                return Pick(button.node, button.action)
        return inbound

    async def leave_group(self, group_id: object) -> None:
        """The bot answers private chats only: it leaves any group it is added to."""
        if not isinstance(group_id, str) or group_id in self._left:
            return
        self._left[group_id] = None
        while len(self._left) > LEFT_GROUPS:
            self._left.popitem(last=False)
        try:
            await self.rpc.call("quitGroup", {"groupId": group_id})
            log.info("left a Signal group the bot was added to")
        except (RpcError, ConnectionLost, TimeoutError) as exc:
            log.warning("leaving a Signal group failed: %s", _why(exc))

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
        if starting and await self.set_timer(uuid, seconds):
            notes = (self.say("signal_timer_set", locale, days=settings.signal_expiration_days),)
        for effect in outcome.effects:
            if isinstance(effect, ClearChat):
                await self.clear_chat(uuid, key)
                reply = swap(self.conversations.flows, reply, locale, "cleared", "signal_cleared")
            elif isinstance(effect, Handoff):
                reply = await self.handoff(uuid, effect, locale, reply)
        try:
            await self.send_all(uuid, key, signal_reply(self.conversations.flows, reply, locale, notes))
            if bare and not in_case(reply):
                self.offer(key, reply.buttons)
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

    async def set_timer(self, uuid: str, seconds: int) -> bool:
        """Turn on disappearing messages for the chat; the user's app shows the change."""
        try:
            await self.rpc.call("updateContact", {"recipient": uuid, "expiration": seconds})
            return True
        except (RpcError, ConnectionLost, TimeoutError) as exc:
            log.warning("setting a Signal chat's disappearing-messages timer failed: %s", _why(exc))
            return False

    async def clear_chat(self, uuid: str, key: bytes) -> None:
        """Delete the bot's own recent messages for everyone; the user's own can't be deleted by the bot."""
        for stamp in self.sent.take(key, self.clock()):
            try:
                await self.deliver_checked(uuid, "remoteDelete", {"recipient": [uuid], "targetTimestamp": stamp})
            except UserGone:
                return

    async def send_all(self, uuid: str, key: bytes, messages: tuple[SignalMessage, ...], strict: bool = False) -> None:
        """Send messages in order, remembering each one's timestamp for /clear.

        A message that can't be delivered is logged and skipped; with `strict` it raises NotDelivered.
        """
        for message in messages:
            params: dict[str, Any] = {"recipient": [uuid], "message": message.text}
            if message.spans:
                params["textStyle"] = message.styles()
            try:
                stamp = await self.send_checked(uuid, "send", params)
            except NotDelivered:
                if strict:
                    raise
                continue
            if stamp is not None:
                self.sent.add(key, stamp, self.clock())

    async def deliver_checked(self, uuid: str, method: str, params: dict[str, Any]) -> int | None:
        """`send_checked`, with None for a message that could not be delivered; raises UserGone."""
        try:
            return await self.send_checked(uuid, method, params)
        except NotDelivered:
            return None

    async def send_checked(self, uuid: str, method: str, params: dict[str, Any]) -> int | None:
        """Call a sending method, check every recipient's result, and deal with each kind of failure.

        Returns the sent message's timestamp (None if signal-cli gave none); raises UserGone, or
        NotDelivered when it could not be delivered after the retries.
        """
        trusted = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                result = await self.rpc.call(method, params)
                failure = first_failure(result)
                if failure is None:
                    stamp = result.get("timestamp") if isinstance(result, dict) else None
                    return stamp if isinstance(stamp, int) else None
            except RpcError as exc:
                failure = failure_of_error(exc)
            except (ConnectionLost, TimeoutError):
                failure = Failure("NETWORK_FAILURE")
            last = attempt == MAX_ATTEMPTS
            if failure.kind == UNREGISTERED:
                raise UserGone
            if failure.kind == IDENTITY and not trusted:
                # The user reinstalled Signal (a new safety number): trust it, as the daemon's
                # `--trust-new-identities always` would, and send again once.
                trusted = True
                if await self.trust(uuid):
                    continue
            elif failure.kind == RATE_LIMIT:
                if failure.token:
                    await self.captcha_needed(failure.token)
                wait = failure.retry_after
                if wait is not None and wait <= MAX_WAIT and not last:
                    log.warning("Signal is rate-limiting the bot; waiting %d s before sending again", wait)
                    await self.sleep(wait)
                    continue
            elif failure.kind in TRANSIENT and not last:
                await self.sleep(NETWORK_RETRY * attempt)
                continue
            log.warning("a Signal %s was not delivered: %s", method, failure.kind)
            raise NotDelivered(failure)
        log.warning("a Signal %s was not delivered: %s", method, IDENTITY)  # trusted, yet refused again
        raise NotDelivered(Failure(IDENTITY))

    async def trust(self, uuid: str) -> bool:
        """Trust the recipient's new identity key."""
        try:
            await self.rpc.call("trust", {"recipient": uuid, "trustAllKnownKeys": True})
            log.info("trusted a Signal user's new safety number")
            return True
        except (RpcError, ConnectionLost, TimeoutError) as exc:
            log.warning("trusting a Signal user's new identity failed: %s", _why(exc))
            return False

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


def _why(exc: BaseException) -> str:
    """An exception as a log-safe word: signal-cli's messages can name a recipient."""
    if isinstance(exc, RpcError):
        return f"error {exc.code}"
    return type(exc).__name__
