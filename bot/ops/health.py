"""`GET /healthz`: a tiny HTTP endpoint for a container's healthcheck or a monitoring service.

200 when the bot can reach its database and the Bot API, 503 with the reasons otherwise; the body is
JSON with the last update's age. It is served on its own port (python-telegram-bot's webhook server
has no public way to add a route), meant for 127.0.0.1 or a private network, never the internet.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import tornado.httpserver
import tornado.netutil
import tornado.web

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


class _HealthHandler(tornado.web.RequestHandler):
    """GET and HEAD /healthz; tornado answers 404 for other paths and 405 for other methods."""

    def initialize(self, check: Callable[[], Awaitable[Health]]) -> None:
        self.check = check

    async def get(self) -> None:
        health = await self.check()
        self.set_status(health.status.value)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(health.body())

    async def head(self) -> None:
        health = await self.check()
        self.set_status(health.status.value)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Length", str(len(health.body())))


@dataclass
class HealthServer:
    """Serves `check()`'s verdict at /healthz through tornado, the HTTP server python-telegram-bot's webhook uses."""

    check: Callable[[], Awaitable[Health]]
    server: tornado.httpserver.HTTPServer | None = None
    bound_port: int = 0

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (port 0 picks a free one; see `port`)."""
        app = tornado.web.Application([(PATH, _HealthHandler, {"check": self.check})], log_function=_quiet)
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self.bound_port = int(sockets[0].getsockname()[1])
        self.server = tornado.httpserver.HTTPServer(
            app, idle_connection_timeout=READ_TIMEOUT, max_header_size=MAX_REQUEST
        )
        self.server.add_sockets(sockets)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.bound_port

    async def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()


def _quiet(handler: tornado.web.RequestHandler) -> None:
    """Log failures only: an access log line per healthcheck would be noise (and addresses)."""
    if handler.get_status() >= 500 and handler.get_status() != HTTPStatus.SERVICE_UNAVAILABLE:
        log.warning("/healthz answered %s", handler.get_status())
