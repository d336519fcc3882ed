"""`GET /healthz`: a tiny HTTP endpoint for a container's healthcheck or a monitoring service.

200 when the bot can reach its database and the Bot API, 503 with the reasons otherwise; the body is
JSON with the last update's age. It is served on its own port (python-telegram-bot's webhook server
has no public way to add a route), meant for 127.0.0.1 or a private network, never the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

log = logging.getLogger(__name__)

PATH = "/healthz"
MAX_REQUEST = 8192  # bytes of request line and headers read before giving up
READ_TIMEOUT = 5.0


@dataclass(frozen=True)
class Health:
    """What /healthz reports: `problems` empty means healthy."""

    problems: tuple[str, ...]
    details: dict[str, object] = field(default_factory=dict)

    @property
    def status(self) -> HTTPStatus:
        return HTTPStatus.SERVICE_UNAVAILABLE if self.problems else HTTPStatus.OK

    def body(self) -> bytes:
        verdict = {"status": "ok" if not self.problems else "failing", "problems": list(self.problems), **self.details}
        return json.dumps(verdict).encode() + b"\n"


def _response(status: HTTPStatus, body: bytes, head_only: bool = False) -> bytes:
    header = (f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
    return header.encode() + (b"" if head_only else body)


@dataclass
class HealthServer:
    """Answers GET and HEAD /healthz with `check()`'s verdict; anything else gets 404 or 405."""

    check: Callable[[], Awaitable[Health]]
    server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0 picks a free one; see `port`)."""
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_REQUEST)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            method, path, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + ["", ""]
            if path.split("?", 1)[0] != PATH:
                writer.write(_response(HTTPStatus.NOT_FOUND, b'{"status": "not found"}\n'))
            elif method not in ("GET", "HEAD"):
                writer.write(_response(HTTPStatus.METHOD_NOT_ALLOWED, b'{"status": "use GET"}\n'))
            else:
                health = await self.check()
                writer.write(_response(health.status, health.body(), head_only=method == "HEAD"))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass  # a client that went away or sent nonsense gets nothing
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the endpoint
            log.warning("/healthz failed: %s", type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
