"""Sending through signal-cli: every recipient's result is checked, and each kind of failure dealt with.

A rate limit is waited out (with a captcha passed to the operator), a new safety number trusted, a network
failure retried; an unregistered user raises UserGone. The bot's own sent timestamps are kept per user,
in memory only, so /clear can delete them. Nothing here logs a UUID, a number or any text.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.transports.recent import RecentMessages
from bot.transports.signal.render import SignalMessage
from bot.transports.signal.rpc import ConnectionLost, RpcError, SignalRpc

log = logging.getLogger(__name__)

DELETABLE_FOR = 24 * 3600 - 300  # Signal's apps honour a remote delete for about a day
RECENT_PER_USER = 50  # the bot's own sent timestamps kept per user for /clear
MAX_ATTEMPTS = 3  # tries per message: the first, plus retries after a rate limit or network failure
MAX_WAIT = 600  # the longest rate-limit wait honoured while holding one user's turn (seconds)
NETWORK_RETRY = 2.0  # seconds before retrying a network failure
# signal-cli's JSON-RPC error codes (SignalJsonRpcCommandHandler).
USER_ERROR, IO_ERROR, UNTRUSTED_IDENTITY, RATE_LIMITED = -1, -3, -4, -5
SUCCESS = "SUCCESS"
UNREGISTERED = "UNREGISTERED_FAILURE"
IDENTITY = "IDENTITY_FAILURE"
RATE_LIMIT = "RATE_LIMIT_FAILURE"
TRANSIENT = frozenset({"NETWORK_FAILURE", "INVALID_PRE_KEY_FAILURE", "IO_ERROR"})

Captcha = Callable[[str], Awaitable[None]]


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


def why(exc: BaseException) -> str:
    """An exception as a log-safe word: signal-cli's messages can name a recipient."""
    if isinstance(exc, RpcError):
        return f"error {exc.code}"
    return type(exc).__name__


class SentStamps(RecentMessages[bytes]):
    """The bot's own recent messages per user (Signal timestamps), in memory only, for /clear."""

    def __init__(self, per_user: int = RECENT_PER_USER) -> None:
        super().__init__(per_chat=per_user, deletable_for=DELETABLE_FOR)


@dataclass
class SignalSender:
    """The sending half of the transport, built by it; `captcha_needed` hears each captcha Signal asks for."""

    rpc: SignalRpc
    captcha_needed: Captcha
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    sent: SentStamps

    async def set_timer(self, uuid: str, seconds: int) -> bool:
        """Turn on disappearing messages for the chat; the user's app shows the change."""
        try:
            await self.rpc.call("updateContact", {"recipient": uuid, "expiration": seconds})
            return True
        except (RpcError, ConnectionLost, TimeoutError) as exc:
            log.warning("setting a Signal chat's disappearing-messages timer failed: %s", why(exc))
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
            log.warning("trusting a Signal user's new identity failed: %s", why(exc))
            return False
