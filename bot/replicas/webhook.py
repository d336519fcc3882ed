"""The webhook endpoint of a replica: an update is acknowledged only once it is committed to the inbox.

Telegram retries a webhook that gets no 2xx, so a failed insert answers 500 and the update comes again;
one posted twice (a retry after a lost answer) is stored once. The secret header is checked as
python-telegram-bot's own webhook server checks it. Nothing here logs an update, a header or an address.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType

import tornado.web
from telegram import Update
from tornado.httpserver import HTTPServer

from bot.privacy.keys import Keyring
from bot.replicas.inbox import Inbox
from bot.replicas.routing import TRANSPORT, conversation_of, seal_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Receiver:
    """What the endpoint needs: where updates go, the keyring to seal them, and the secret Telegram sends."""

    inbox: Inbox
    keyring: Keyring
    secret_token: str


class InboxHandler(tornado.web.RequestHandler):
    """POST <path>: check the secret, store the update (once), then answer."""

    receiver: Receiver

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def post(self) -> None:
        if self.request.headers.get("Content-Type") != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        token = self.request.headers.get(SECRET_HEADER)
        if not token or not hmac.compare_digest(token.encode(), self.receiver.secret_token.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        raw = self.request.body
        try:
            data = json.loads(raw)
            update = Update.de_json(data, None)
            update_id = int(data["update_id"])
        except Exception:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        keyring = self.receiver.keyring
        try:
            await self.receiver.inbox.add(
                TRANSPORT, update_id, conversation_of(update, keyring), seal_update(raw, keyring)
            )
        except Exception as exc:
            log.error("an update could not be stored, Telegram will retry it: %s", type(exc).__name__)
            raise tornado.web.HTTPError(HTTPStatus.INTERNAL_SERVER_ERROR) from None
        self.set_status(HTTPStatus.OK)

    def log_exception(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Tornado's own would print the request, headers (the secret) included.
        if not isinstance(value, tornado.web.HTTPError):
            log.error("the webhook failed: %s", getattr(typ, "__name__", "error"))


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """Requests are not logged (the path holds nothing, but a log of who posted when is not needed)."""


def start_server(receiver: Receiver, listen: str, port: int, path: str) -> HTTPServer:
    """Listen on `listen:port` for POSTs to `path` (as the webhook URL's path) and return the server."""
    route = "/" + path.lstrip("/")
    app = tornado.web.Application([(route, InboxHandler, {"receiver": receiver})], log_function=_no_access_log)
    server = HTTPServer(app, xheaders=True)
    server.listen(port, address=listen)
    return server


def bound_port(server: HTTPServer) -> int:
    """The port `server` listens on (the one the system chose when asked for port 0)."""
    return int(next(iter(server._sockets.values())).getsockname()[1])
