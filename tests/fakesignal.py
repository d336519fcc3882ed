"""A fake signal-cli daemon: newline-delimited JSON-RPC 2.0 on a UNIX socket, as `daemon --socket` speaks it.

It records every request, answers `send`, `remoteDelete`, `updateContact`, `trust`, `quitGroup`,
`subscribeReceive` and `version` the way signal-cli 0.14 does (send results per recipient, error codes
-1/-4/-5 with `data.response`), pushes `receive` notifications to the subscriber (and keeps them while
nobody is subscribed, as `--receive-mode manual` does), answers out of order on request, and can drop
the socket. Tests wait on its condition, never on sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STREAM_LIMIT = 16 * 1024 * 1024


@dataclass
class Sent:
    """A message the bot sent, as the recipient would get it."""

    recipient: str
    timestamp: int
    text: str
    styles: list[str]


@dataclass
class FakeSignalCli:
    path: Path
    account: str = "+447700900000"
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    subscriptions: int = 0
    _server: asyncio.AbstractServer | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _subscribers: list[asyncio.StreamWriter] = field(default_factory=list)
    _backlog: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_760_000_000_000, 1000))
    _scripted: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    _hold: int = 0
    _held: list[tuple[asyncio.StreamWriter, dict[str, Any]]] = field(default_factory=list)

    async def start(self) -> FakeSignalCli:
        self._server = await asyncio.start_unix_server(self._client, path=str(self.path), limit=STREAM_LIMIT)
        return self

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- what tests do -------------------------------------------------------------------------

    def push(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Deliver an envelope to the subscriber (or keep it until there is one)."""
        notification = {"account": self.account, "envelope": envelope}
        if self._subscribers:
            for writer in self._subscribers:
                self._write(
                    writer,
                    {
                        "jsonrpc": "2.0",
                        "method": "receive",
                        "params": {"subscription": self.subscriptions - 1, "result": notification},
                    },
                )
        else:
            self._backlog.append(notification)
        return envelope

    def envelope(
        self,
        uuid: str,
        *,
        number: str | None = None,
        name: str | None = None,
        device: int = 1,
        timestamp: int | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        """An envelope from a user's phone; keyword arguments become the dataMessage's fields."""
        stamp = timestamp if timestamp is not None else next(self._clock)
        envelope: dict[str, Any] = {
            "source": number or uuid,
            "sourceNumber": number,
            "sourceUuid": uuid,
            "sourceName": name,
            "sourceDevice": device,
            "timestamp": stamp,
            "serverReceivedTimestamp": stamp + 5,
            "serverDeliveredTimestamp": stamp + 9,
        }
        if data:
            envelope["dataMessage"] = {
                "timestamp": stamp,
                "message": None,
                "expiresInSeconds": 0,
                "viewOnce": False,
                **data,
            }
        return envelope

    def user_sends(self, uuid: str, text: str, **fields: Any) -> dict[str, Any]:
        """A user types `text`."""
        return self.push(self.envelope(uuid, message=text, **fields))

    def fail_next(self, method: str, answer: dict[str, Any]) -> None:
        """Answer the next call of `method` with `answer` ({"error": …} or {"result": …})."""
        self._scripted.setdefault(method, deque()).append(answer)

    def rate_limit_next(self, recipient: str, retry_after: int | None = 3, token: str | None = None) -> None:
        """The next send fails with -5, as signal-cli reports a rate limit or a proof-required challenge."""
        result: dict[str, Any] = {"recipientAddress": {"uuid": recipient, "number": None}, "type": "RATE_LIMIT_FAILURE"}
        if token is not None:
            result["token"] = token
        if retry_after is not None:
            result["retryAfterSeconds"] = retry_after
        self.fail_next(
            "send",
            {
                "error": {
                    "code": -5,
                    "message": "Failed to send message due to rate limiting",
                    "data": {"response": {"timestamp": next(self._clock), "results": [result]}},
                }
            },
        )

    def untrusted_next(self, recipient: str) -> None:
        """The next send fails with -4: the user reinstalled and their safety number changed."""
        result = {"recipientAddress": {"uuid": recipient, "number": None}, "type": "IDENTITY_FAILURE"}
        self.fail_next(
            "send",
            {
                "error": {
                    "code": -4,
                    "message": "Failed to send message due to untrusted identities",
                    "data": {"response": {"timestamp": next(self._clock), "results": [result]}},
                }
            },
        )

    def unregistered_next(self, recipient: str) -> None:
        """The next send fails with -1: the recipient left Signal."""
        self.fail_next(
            "send", {"error": {"code": -1, "message": f"The user {recipient} is not registered.", "data": None}}
        )

    def partial_failure_next(self, recipient: str, kind: str = "NETWORK_FAILURE") -> None:
        """The next send 'succeeds' but the recipient's own result is a failure."""
        self.fail_next(
            "send",
            {
                "result": {
                    "timestamp": next(self._clock),
                    "results": [{"recipientAddress": {"uuid": recipient, "number": None}, "type": kind}],
                }
            },
        )

    def hold_replies(self, count: int) -> None:
        """Keep the replies to the next `count` requests, then send them all in reverse order."""
        self._hold = count

    def drop(self) -> None:
        """Close every client connection, as a restarting daemon would."""
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        self._subscribers.clear()

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10) -> None:
        """Wait until `predicate()` is true; it is checked after every request."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(predicate)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The params of every call of `method`, in order."""
        return [r.get("params") or {} for r in self.requests if r.get("method") == method]

    def texts_to(self, uuid: str) -> list[str]:
        return [s.text for s in self.sent if s.recipient == uuid]

    async def wait_for_text(self, uuid: str, fragment: str, count: int = 1) -> Sent:
        """Wait until `count` messages to `uuid` contain `fragment`; the latest of them."""

        def found() -> list[Sent]:
            return [s for s in self.sent if s.recipient == uuid and fragment in s.text]

        await self.wait_for(lambda: len(found()) >= count)
        return found()[-1]

    # -- the daemon ----------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while line := await reader.readline():
                request = json.loads(line)
                async with self._changed:
                    self.requests.append(request)
                    reply = self._answer(writer, request)
                    if reply is not None:
                        if self._hold:
                            self._held.append((writer, reply))
                            self._hold -= 1
                            if not self._hold:
                                for held_writer, held in reversed(self._held):
                                    self._write(held_writer, held)
                                self._held.clear()
                        else:
                            self._write(writer, reply)
                    self._changed.notify_all()
        except (ConnectionError, OSError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            if writer in self._subscribers:
                self._subscribers.remove(writer)
            writer.close()
            async with self._changed:
                self._changed.notify_all()

    def _write(self, writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        if not writer.is_closing():
            writer.write(json.dumps(message).encode() + b"\n")

    def _answer(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> dict[str, Any] | None:
        method, params, request_id = request.get("method"), request.get("params") or {}, request.get("id")
        scripted = self._scripted.get(str(method))
        if scripted:
            return {"jsonrpc": "2.0", "id": request_id, **scripted.popleft()}
        if method == "subscribeReceive":
            subscription = self.subscriptions
            self.subscriptions += 1
            self._subscribers.append(writer)
            reply = {"jsonrpc": "2.0", "id": request_id, "result": subscription}
            self._write(writer, reply)
            for notification in self._backlog:
                self._write(
                    writer,
                    {
                        "jsonrpc": "2.0",
                        "method": "receive",
                        "params": {"subscription": subscription, "result": notification},
                    },
                )
            self._backlog.clear()
            return None
        if method == "version":
            return {"jsonrpc": "2.0", "id": request_id, "result": {"version": "0.14.0"}}
        if method in ("send", "remoteDelete"):
            stamp = next(self._clock)
            recipients = params.get("recipient") or []
            if method == "send":
                if not params.get("message"):
                    return {
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "error": {"code": -1, "message": "Sending empty message is not allowed", "data": None},
                    }
                for recipient in recipients:
                    self.sent.append(Sent(recipient, stamp, params["message"], list(params.get("textStyle") or [])))
            results = [{"recipientAddress": {"uuid": r, "number": None}, "type": "SUCCESS"} for r in recipients]
            return {"jsonrpc": "2.0", "id": request_id, "result": {"timestamp": stamp, "results": results}}
        if method in ("updateContact", "trust"):
            return {"jsonrpc": "2.0", "id": request_id, "result": {}}
        if method == "quitGroup":
            return {"jsonrpc": "2.0", "id": request_id, "result": {"timestamp": next(self._clock), "results": []}}
        return {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": -32601, "message": "Method not implemented", "data": None},
        }
