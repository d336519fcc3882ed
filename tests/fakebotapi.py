"""A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests of the real PTB Application.

It speaks HTTP like api.telegram.org: `POST /bot<token>/<method>`, form or JSON bodies, Telegram's
response envelope. It queues updates for long polling, assigns message ids per chat, records every
call, and can inject 429s (with retry_after), 5xx and slow responses. Tests wait on recorded calls
with a timeout instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 4242
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Signpost", "username": "signpost_test_bot"}
NUMERIC = {
    "chat_id",
    "from_chat_id",
    "message_id",
    "message_thread_id",
    "offset",
    "limit",
    "timeout",
    "user_id",
    "icon_color",
    "cache_time",
}
# Methods that put a message in a chat, and so take the chat's next message id.
SENDS = {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    time: float


@dataclass
class Fault:
    status: int
    retry_after: int
    remaining: int
    every_nth: int = 0
    seen: int = 0


class _Refused(Exception):
    """A method's own refusal, answered in Telegram's error envelope."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _decode(name: str, value: str) -> Any:
    if name in NUMERIC:
        try:
            return int(value)
        except ValueError:
            return value
    if value in ("true", "false"):
        return value == "true"
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class FakeBotAPI:
    """`async with FakeBotAPI() as api:` then point PTB at `api.base_url`."""

    token: str = "123456:TEST-token_for-the-fake-server"
    staff_admins: tuple[int, ...] = (1001,)
    calls: list[Call] = field(default_factory=list)
    failed_calls: list[Call] = field(default_factory=list)
    polls: list[Call] = field(default_factory=list)  # getUpdates requests as they arrive (not in `calls`)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _message_ids: dict[int, itertools.count] = field(default_factory=dict)
    _topic_ids: itertools.count = field(default_factory=lambda: itertools.count(501))
    _faults: dict[str, Fault] = field(default_factory=dict)
    _delays: dict[str, float] = field(default_factory=dict)
    _holds: dict[str, asyncio.Event] = field(default_factory=dict)
    held_calls: list[Call] = field(default_factory=list)  # calls waiting on hold(), in arrival order
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    _closing: bool = False
    port: int = 0
    # Set by setWebhook: updates are then POSTed there, with the secret header, instead of polled.
    webhook: tuple[str, str] | None = None
    webhook_statuses: list[int] = field(default_factory=list)
    _pusher: asyncio.Task[None] | None = None
    # Replicas behind a load balancer: each update is posted to the next of these addresses in turn (one
    # that cannot be reached is skipped, as a balancer does) instead of to the webhook's own address.
    replicas: list[str] = field(default_factory=list)
    repost_every: int = 0  # every Nth update taken is posted once more, to the next replica (a retry)
    reposted: list[int] = field(default_factory=list)  # update ids posted a second time
    _next_replica: int = 0
    # The world as Telegram would refuse it: users who blocked the bot, topics staff deleted, a group
    # without topics or where the bot may not manage them, and the bot's member record in the group.
    blocked: set[int] = field(default_factory=set)
    deleted_topics: set[int] = field(default_factory=set)
    forum: bool = True
    group_type: str = "supergroup"
    bot_member: dict[str, Any] = field(
        default_factory=lambda: {"status": "administrator", "can_manage_topics": True, "can_delete_messages": True}
    )
    staff_chat_id: int = -1001234567890
    admin_groups: set[int] = field(default_factory=set)  # other groups where the bot is an admin
    # Telegram's last failed delivery to the webhook, as getWebhookInfo reports it: (unix time, message).
    webhook_error: tuple[int, str] | None = None
    # Another copy of the bot polls with the same token: every getUpdates is ended with 409 Conflict.
    conflict: bool = False
    # Telegram is down behind its front servers: every call is answered 502 Bad Gateway.
    outage: bool = False
    # Files on Telegram's servers: file_id -> (file_name, content); sent by people or uploaded by the bot.
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    _file_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotAPI:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop like a real server going down: pending long polls and held calls are answered at once."""
        # The bot gives up its last long poll when it stops, but that poll's handler would otherwise
        # sit out its timeout here, and cleanup waits for every handler: a second per bot for nothing.
        self._closing = True
        for method in list(self._holds):
            self.release(method)
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()
        if self._pusher is not None:
            self._pusher.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """The Bot API root, as TELEGRAM_API_URL would be set for a self-hosted server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB's `base_url` (PTB appends the token)."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"

    # -- faults ---------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, count: int = 1) -> None:
        """Make the next `count` calls of `method` fail with `status` (429 carries retry_after)."""
        self._faults[method] = Fault(status, retry_after, count)

    def rate_limit(self, method: str, *, every_nth: int = 3, retry_after: int = 1, count: int = 1_000_000) -> None:
        """Make every Nth call of `method` answer 429, like a flood limit."""
        self._faults[method] = Fault(429, retry_after, count, every_nth)

    def hold(self, method: str) -> None:
        """Answer `method` only once `release(method)` is called (a request stuck in flight)."""
        self._holds[method] = asyncio.Event()

    def release(self, method: str) -> None:
        """Let held calls of `method` through."""
        held = self._holds.pop(method, None)
        if held is not None:
            held.set()

    def delay(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds`."""
        self._delays[method] = seconds

    # -- what the bot did -----------------------------------------------------------------------

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Successful calls of `method`, optionally into one chat."""
        return [c for c in self.calls if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)]

    def sent_to(self, chat_id: int, thread_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot put into a chat (sent or copied), in order; each is the call's params."""
        return [
            {**c.params, "method": c.method}
            for c in self.calls
            if c.method in SENDS
            and c.params.get("chat_id") == chat_id
            and (thread_id is None or c.params.get("message_thread_id") == thread_id)
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        """The texts of the messages the bot sent into a chat."""
        return [m.get("text") or m.get("caption") or f"<{m['method']}>" for m in self.sent_to(chat_id)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        """Wait until `predicate()` holds; on timeout fail with what was recorded."""
        assert self._changed is not None
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; calls so far:\n{self.describe()}"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_calls(
        self, method: str, count: int = 1, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[Call]:
        """Wait until at least `count` successful calls of `method` (into `chat_id`) were made."""
        await self.wait_for(
            lambda: len(self.calls_to(method, chat_id)) >= count, timeout, f"{count}× {method} to {chat_id}"
        )
        return self.calls_to(method, chat_id)

    async def wait_for_text(self, chat_id: int, fragment: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for a message into `chat_id` whose text contains `fragment`, and return it."""

        def found() -> bool:
            return any(fragment in (m.get("text") or "") for m in self.sent_to(chat_id))

        await self.wait_for(found, timeout, f"a message to {chat_id} containing {fragment!r}")
        return next(m for m in self.sent_to(chat_id) if fragment in (m.get("text") or ""))

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (a later getUpdates' offset confirms them, as on Telegram)."""
        return len(self._updates)

    def describe(self) -> str:
        lines = []
        for c in self.calls[-40:]:
            text = c.params.get("text") or c.params.get("name") or ""
            lines.append(f"  {c.method} chat={c.params.get('chat_id')} {str(text)[:80]!r}")
        return "\n".join(lines) or "  (none)"

    # -- updates from users and staff -----------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        """Telegram numbers messages per chat, the user's and the bot's in one sequence."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._notify()
        return update_id

    @staticmethod
    def user(user_id: int, language_code: str | None = "en", **extra: Any) -> dict[str, Any]:
        """A Telegram User object."""
        user = {"id": user_id, "is_bot": False, "first_name": extra.pop("first_name", "Test"), **extra}
        if language_code:
            user["language_code"] = language_code
        return user

    def _message(self, chat: dict[str, Any], sender: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {
            "message_id": self.next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **content,
        }

    def private_chat(self, chat_id: int, sender: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "private", "first_name": sender.get("first_name", "Test")}
        for key in ("last_name", "username"):
            if key in sender:
                chat[key] = sender[key]
        return chat

    def user_sends_text(
        self, chat_id: int, text: str, *, user: dict[str, Any] | None = None, language_code: str | None = "en"
    ) -> int:
        """A user writes to the bot in their private chat; returns the message id."""
        sender = user or self.user(chat_id, language_code)
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._message(self.private_chat(chat_id, sender), sender, **content)
        self.push_update({"message": message})
        return int(message["message_id"])

    def user_sends(self, chat_id: int, kind: str, *, user: dict[str, Any] | None = None, **fields: Any) -> int:
        """A user sends a photo, voice, video, sticker, document, location or contact."""
        sender = user or self.user(chat_id)
        samples: dict[str, Any] = {
            "photo": [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}],
            "voice": {"file_id": "v1", "file_unique_id": "uv1", "duration": 2},
            "video": {"file_id": "d1", "file_unique_id": "ud1", "width": 9, "height": 9, "duration": 1},
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "us1",
                "type": "regular",
                "width": 9,
                "height": 9,
                "is_animated": False,
                "is_video": False,
            },
            "document": {"file_id": "f1", "file_unique_id": "uf1", "file_name": "x.pdf"},
            "location": {"latitude": 51.5072, "longitude": -0.1276},
            "contact": {"phone_number": "+447700900123", "first_name": "Planted"},
        }
        extra = {k: v for k, v in fields.items() if k != kind}  # e.g. a caption
        message = self._message(
            self.private_chat(chat_id, sender), sender, **{kind: fields.get(kind, samples[kind])}, **extra
        )
        self.push_update({"message": message})
        return int(message["message_id"])

    def user_presses(
        self, chat_id: int, callback_data: str, message_id: int, *, user: dict[str, Any] | None = None
    ) -> str:
        """A user taps an inline button on message `message_id`; returns the callback query id."""
        sender = user or self.user(chat_id)
        query_id = f"q{next(self._update_ids)}"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.private_chat(chat_id, sender),
            "from": BOT_USER,
            "text": "menu",
        }
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "chat_instance": "ci",
                    "message": message,
                    "data": callback_data,
                }
            }
        )
        return query_id

    def user_edits(self, chat_id: int, message_id: int, text: str) -> None:
        """A user edits an earlier message."""
        sender = self.user(chat_id)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": self.private_chat(chat_id, sender),
            "from": sender,
            "text": text,
        }
        self.push_update({"edited_message": message})

    def group_message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        thread_id: int | None = None,
        user: dict[str, Any] | None = None,
        **content: Any,
    ) -> int:
        """Someone writes in a supergroup with topics (thread_id for a topic)."""
        sender = user or self.user(1001, first_name="Staffer", last_name="Realname", username="staff_account")
        chat = {"id": chat_id, "type": "supergroup", "title": "Staff", "is_forum": True}
        body: dict[str, Any] = dict(content)
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if thread_id is not None:
            body["message_thread_id"] = thread_id
            body["is_topic_message"] = True
        message = self._message(chat, sender, **body)
        self.push_update({"message": message})
        return int(message["message_id"])

    def _store_file(self, file_name: str, content: bytes) -> str:
        file_id = f"file{next(self._file_ids)}"
        self.files[file_id] = (file_name, content)
        return file_id

    def group_document(
        self,
        chat_id: int,
        file_name: str,
        content: bytes,
        *,
        user: dict[str, Any] | None = None,
        caption: str | None = None,
        mime_type: str = "application/x-yaml",
    ) -> int:
        """Someone sends a file to the group's main thread, as Telegram shows it: a Document with a file_id."""
        file_id = self._store_file(file_name, content)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return self.group_message(chat_id, user=user, document=document, **extra)

    def documents_to(self, chat_id: int) -> list[tuple[str, bytes]]:
        """(file name, content) of each document the bot uploaded into a chat, in order."""
        sent = [c.params.get("document") for c in self.calls_to("sendDocument", chat_id)]
        return [self.files[file_id] for file_id in sent if isinstance(file_id, str) and file_id in self.files]

    def bot_added_to_group(self, chat_id: int, kind: str = "group") -> None:
        """Someone adds the bot to a group."""
        adder = self.user(777)
        self.push_update(
            {
                "my_chat_member": {
                    "chat": {"id": chat_id, "type": kind, "title": "Some group"},
                    "from": adder,
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": BOT_USER},
                    "new_chat_member": {"status": "member", "user": BOT_USER},
                }
            }
        )

    # -- the HTTP side --------------------------------------------------------------------------

    def _notify(self) -> None:
        changed = self._changed
        if changed is None:
            return

        async def notify() -> None:
            async with changed:
                changed.notify_all()

        asyncio.get_running_loop().create_task(notify())

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        if request.content_type.startswith("multipart/"):
            data = await request.post()
            params = {k: _decode(k, v) for k, v in data.items() if isinstance(v, str)}
            # An uploaded file (sendDocument with InputFile): kept like Telegram keeps it, by a new file_id.
            for k, v in data.items():
                if isinstance(v, web.FileField):
                    params[k] = self._store_file(v.filename, v.file.read())
            return params
        form = await request.post()
        return {k: _decode(k, str(v)) for k, v in form.items()} | {k: _decode(k, v) for k, v in request.query.items()}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params, time.time())
        if self.outage:
            self.failed_calls.append(call)
            self._notify()
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        if method in self._delays:
            await asyncio.sleep(self._delays[method])
        if method in self._holds:
            self.held_calls.append(call)
            self._notify()
            await self._holds[method].wait()
        fault = self._faults.get(method)
        if fault is not None and fault.remaining > 0:
            fault.seen += 1
            if not fault.every_nth or fault.seen % fault.every_nth == 0:
                fault.remaining -= 1
                self.failed_calls.append(call)
                return self._error(fault)
        refusal = self._refusal(method, params)
        if refusal is not None:
            self.failed_calls.append(call)
            self._notify()
            status, description = refusal
            return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        try:
            result = await handler(params) if asyncio.iscoroutinefunction(handler) else handler(params)
        except _Refused as refused:
            self.failed_calls.append(call)
            self._notify()
            return web.json_response(
                {"ok": False, "error_code": refused.status, "description": refused.description}, status=refused.status
            )
        if method != "getUpdates":
            self.calls.append(call)
            self._notify()
        return web.json_response({"ok": True, "result": result})

    def _refusal(self, method: str, params: dict[str, Any]) -> tuple[int, str] | None:
        """Telegram's own refusals, with its error codes and descriptions."""
        chat_id = params.get("chat_id")
        if method == "getUpdates" and self.webhook is not None:
            return (
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        if method == "getUpdates" and self.conflict:
            return (
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        if method in SENDS and isinstance(chat_id, int) and chat_id in self.blocked:
            return 403, "Forbidden: bot was blocked by the user"
        thread = params.get("message_thread_id")
        if (
            method in SENDS | {"closeForumTopic", "reopenForumTopic", "deleteForumTopic"}
            and thread in self.deleted_topics
        ):
            return 400, "Bad Request: message thread not found"
        if method == "createForumTopic":
            if not self.forum:
                return 400, "Bad Request: the chat is not a forum"
            if not self.bot_member.get("can_manage_topics"):
                return 400, "Bad Request: not enough rights to create a topic"
        if method == "sendMessage" and len(str(params.get("text", ""))) > 4096:
            return 400, "Bad Request: message is too long"
        if method == "copyMessage" and len(str(params.get("caption") or "")) > 1024:
            return 400, "Bad Request: message caption is too long"
        return None

    @staticmethod
    def _error(fault: Fault) -> web.Response:
        if fault.status == 429:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
        else:
            body = {"ok": False, "error_code": fault.status, "description": "Internal Server Error"}
        return web.json_response(body, status=fault.status)

    # -- methods --------------------------------------------------------------------------------

    def m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "has_topics_enabled": False,
        }

    async def m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls.append(Call("getUpdates", params, time.time()))
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._notify()  # a test may wait for a poll, or for its updates to be confirmed
        timeout = min(float(params.get("timeout") or 0), 2.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        assert self._changed is not None
        while not self._updates and not self._closing and time.monotonic() < deadline:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), max(0.01, deadline - time.monotonic()))
        return self._updates[:limit]

    def m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def m_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = (str(params["url"]), str(params.get("secret_token") or ""))
        if self._pusher is None:
            self._pusher = asyncio.get_running_loop().create_task(self._push_to_webhook())
        return True

    async def _push_to_webhook(self) -> None:
        """Like Telegram: POST each queued update to the webhook in order, retrying until it is taken."""
        import aiohttp

        assert self._changed is not None
        async with aiohttp.ClientSession() as session:
            taken = 0
            while True:
                if self.webhook is None or not self._updates:
                    async with self._changed:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._changed.wait(), 0.2)
                    continue
                update = self._updates[0]
                status = await self._post_update(session, update)
                if status == 200:
                    self._updates.pop(0)
                    taken += 1
                    if self.repost_every and taken % self.repost_every == 0:
                        # The answer "was lost": Telegram posts the same update again, here to another replica.
                        self.reposted.append(int(update["update_id"]))
                        await self._post_update(session, update)
                    self._notify()
                    continue
                if status is None and self.replicas and self._next_replica % len(self.replicas):
                    continue  # unreachable: the balancer tries the next replica at once
                await asyncio.sleep(0.1)

    async def _post_update(self, session: Any, update: dict[str, Any]) -> int | None:
        """POST one update to the webhook (or the next replica); its status, or None when unreachable."""
        import aiohttp

        assert self.webhook is not None
        url, secret = self.webhook
        if self.replicas:
            url = self.replicas[self._next_replica % len(self.replicas)]
            self._next_replica += 1
        try:
            async with session.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as r:
                self.webhook_statuses.append(r.status)
                return int(r.status)
        except aiohttp.ClientError:
            return None

    def m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook[0] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info |= {"max_connections": 40, "ip_address": "127.0.0.1"}
            if self.webhook_error is not None:
                info |= {"last_error_date": self.webhook_error[0], "last_error_message": self.webhook_error[1]}
        return info

    def m_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def m_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _sent(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": BOT_USER,
            **content,
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        if "message_thread_id" in params:
            message["message_thread_id"] = params["message_thread_id"]
        return message

    def m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent(params, text=str(params.get("text", "")))

    def m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent(params, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])

    def m_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("document")
        name, content = self.files.get(str(file_id), ("", b""))
        document = {"file_id": file_id or "d", "file_unique_id": f"u{file_id or 'd'}", "file_size": len(content)}
        if name:
            document["file_name"] = name
        return self._sent(params, document=document, **({"caption": params["caption"]} if "caption" in params else {}))

    def m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        # As the Bot API: a File with file_path, downloadable at /file/bot<token>/<file_path>; bots may
        # download files of up to 20 MB.
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise _Refused(400, "Bad Request: invalid file_id")
        name, content = self.files[file_id]
        if len(content) > 20 * 1024 * 1024:
            raise _Refused(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}_{name}",
        }

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        file_id = path.removeprefix("documents/").split("_", 1)[0]
        if file_id not in self.files:
            return web.Response(status=404, text="Not Found")
        self.calls.append(Call("download", {"file_path": path}, time.time()))
        self._notify()
        return web.Response(body=self.files[file_id][1])

    def m_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_id": self.next_message_id(int(params["chat_id"]))}

    def m_forwardMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent(params, text="(forwarded)")

    def m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "message_id": params.get("message_id"),
            "date": int(time.time()),
            "chat": {"id": params.get("chat_id"), "type": "private"},
            "text": params.get("text", ""),
        }

    def m_editMessageReplyMarkup(self, params: dict[str, Any]) -> bool:
        return True

    def m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def m_deleteMessage(self, params: dict[str, Any]) -> bool:
        return True

    def m_deleteMessages(self, params: dict[str, Any]) -> bool:
        return True

    def m_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    def m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"message_thread_id": next(self._topic_ids), "name": params.get("name", ""), "icon_color": 7322096}

    def m_editForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    def m_closeForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    def m_reopenForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    def m_deleteForumTopic(self, params: dict[str, Any]) -> bool:
        self.deleted_topics.add(int(params["message_thread_id"]))
        return True

    def m_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        chat_id = int(params["chat_id"])
        if user_id == BOT_ID and chat_id not in (self.staff_chat_id, *self.admin_groups):
            return {"status": "member", "user": BOT_USER}
        if user_id == BOT_ID:
            return {
                "user": BOT_USER,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_change_info": True,
                "can_invite_users": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_manage_video_chats": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
                "can_delete_messages": False,
                "can_manage_topics": False,
                **self.bot_member,
            }
        return {"status": "member", "user": self.user(user_id)}

    def m_leaveChat(self, params: dict[str, Any]) -> bool:
        return True

    def m_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat_type = "private" if chat_id > 0 else self.group_type
        extra: dict[str, Any] = {} if chat_type == "private" else {"title": "Staff"}
        if chat_type == "supergroup" and self.forum:
            extra["is_forum"] = True
        return {
            "id": chat_id,
            "type": chat_type,
            **extra,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def m_getChatAdministrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "status": "administrator",
                "user": self.user(uid),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
            for uid in self.staff_admins
        ]
