"""A small JSON-RPC 2.0 client for signal-cli's daemon over a UNIX socket.

One JSON object per line. Replies are matched by `id` (signal-cli runs requests concurrently, so they
can come back in any order). Exactly one `subscribeReceive` per connection (the daemon runs with
`--receive-mode manual`, so nothing is fetched from Signal's servers while no client listens);
`receive` notifications go to a callback. When the socket goes away the client reconnects with capped
exponential backoff and subscribes again. Nothing here logs a parameter, a result or a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

STREAM_LIMIT = 16 * 1024 * 1024  # a line can carry attachments as base64
CALL_TIMEOUT = 120.0  # a send to a slow recipient can take a while; this only stops a hang

Notification = Callable[[dict[str, Any]], Awaitable[None]]


class RpcError(Exception):
    """An error reply from signal-cli: its JSON-RPC `code`, `message` and `data`."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"signal-cli error {code}")  # the message can name a recipient: kept off str()
        self.code = code
        self.message = message
        self.data = data


class ConnectionLost(Exception):
    """The socket closed before the reply came; the request may or may not have been carried out."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: `first`, doubling, never more than `most` seconds."""

    first: float = 0.5
    most: float = 30.0

    def delays(self) -> itertools.chain[float]:
        """An endless series of delays."""
        doubling = (min(self.first * 2**n, self.most) for n in range(32))
        return itertools.chain(doubling, itertools.repeat(self.most))


@dataclass
class SignalRpc:
    """The connection to one signal-cli daemon; `run` keeps it up, `call` sends requests over it."""

    socket_path: str
    on_receive: Notification
    backoff: Backoff = field(default_factory=Backoff)
    limit: int = STREAM_LIMIT
    subscription: int | None = field(default=None, init=False)
    connections: int = field(default=0, init=False)  # how many times a connection was made
    connected: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _writer: asyncio.StreamWriter | None = field(default=None, init=False)
    _pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict, init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _closed: bool = field(default=False, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, subscribe and read until `stop` is set, reconnecting whenever the socket goes away."""
        delays = self.backoff.delays()
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_unix_connection(self.socket_path, limit=self.limit)
            except OSError as exc:
                delay = next(delays)
                log.warning("cannot reach signal-cli's socket (%s); trying again in %.1f s", type(exc).__name__, delay)
                await _wait(stop, delay)
                continue
            self.connections += 1
            self._writer = writer
            reading = asyncio.create_task(self._read(reader))
            try:
                self.connected.set()
                self.subscription = int(await self.call("subscribeReceive"))
                delays = self.backoff.delays()  # a working connection starts the backoff afresh
                log.info("subscribed to signal-cli")
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait((reading, stopping), return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
            except (ConnectionLost, RpcError, TypeError, ValueError) as exc:
                log.warning("subscribing to signal-cli failed: %s", type(exc).__name__)
            finally:
                self.connected.clear()
                self._writer = None
                self.subscription = None
                reading.cancel()
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                self._fail_pending()
            if not stop.is_set():
                delay = next(delays)
                log.warning("signal-cli's socket closed; reconnecting in %.1f s", delay)
                await _wait(stop, delay)
        # Stopped: calls still waiting for a connection, and any made from here on, fail at once.
        self._closed = True
        self.connected.set()
        await self.drain()

    async def drain(self) -> None:
        """Wait for the notification handlers still running."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = CALL_TIMEOUT) -> Any:
        """Send one request and return its result; raises RpcError, ConnectionLost or TimeoutError.

        While the socket is down, the request waits (within `timeout`) for the next connection.
        """
        async with asyncio.timeout(timeout):
            await self.connected.wait()
            writer = self._writer
            if writer is None or self._closed:
                raise ConnectionLost(method)
            request_id = next(self._ids)
            request: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
            if params:
                request["params"] = params
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending[request_id] = future
            try:
                async with self._write_lock:
                    writer.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
                    await writer.drain()
            except (ConnectionError, OSError):
                self._pending.pop(request_id, None)
                raise ConnectionLost(method) from None
            try:
                return await future
            finally:
                self._pending.pop(request_id, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                # Longer than the stream limit: asyncio has dropped it; the next line is whole again.
                log.warning("dropped a line from signal-cli longer than %d bytes", self.limit)
                continue
            except (ConnectionError, OSError):
                return
            if not line:
                return
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("signal-cli sent a line that is not JSON")
                continue
            if isinstance(message, dict):
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message:
            params = message.get("params")
            if message["method"] == "receive" and isinstance(params, dict):
                result = params.get("result", params)  # manual mode wraps it in a subscription object
                if isinstance(result, dict):
                    # Each notification runs as its own task so the reader keeps reading the replies
                    # a handler's own calls are waiting for; per-user order is the handler's lock's job.
                    task = asyncio.create_task(self._notify(result))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            future.set_exception(RpcError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data")))
        else:
            future.set_result(message.get("result"))

    async def _notify(self, result: dict[str, Any]) -> None:
        try:
            await self.on_receive(result)
        except Exception as exc:
            log.error("handling a Signal message failed: %s", type(exc).__name__)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost("socket closed"))
        self._pending.clear()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
