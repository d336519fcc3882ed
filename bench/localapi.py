"""Answers a bot's Bot API calls in process, for the direct mode: no socket, no network at all.

It plugs into PTB as its HTTP client (`BaseRequest`), so PTB still encodes every request as it
would for HTTP and parses every answer into `Message` objects; only the wire is missing. It
remembers the latest inline keyboard sent to each chat, so a simulated user can press its buttons.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


@dataclass
class Keyboards:
    """Per chat: how many keyboards it was sent, and the callback data of the latest one."""

    latest: dict[int, list[str]] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)

    def record(self, chat_id: int, markup: dict[str, Any]) -> None:
        rows = markup.get("inline_keyboard") or []
        self.latest[chat_id] = [b["callback_data"] for row in rows for b in row if "callback_data" in b]
        self.counts[chat_id] = self.counts.get(chat_id, 0) + 1

    def forget(self, chat_id: int) -> None:
        """Drop a chat whose walk is over, so memory stays bounded by the users in flight."""
        self.latest.pop(chat_id, None)
        self.counts.pop(chat_id, None)


@dataclass
class LocalBotAPI(BaseRequest):
    """A `BaseRequest` that answers getMe, sendMessage, answerCallbackQuery and friends locally."""

    keyboards: Keyboards = field(default_factory=Keyboards)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        # The same encoding HTTPXRequest does before it sends a form, so that cost stays in.
        params = request_data.json_parameters if request_data is not None else {}
        result = self.answer(url.rsplit("/", 1)[-1], params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def answer(self, name: str, params: dict[str, str]) -> object:
        if name == "getMe":
            return {
                **BOT_USER,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if name == "sendMessage":
            chat_id = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
            if "reply_markup" in params:
                markup = json.loads(params["reply_markup"])
                message["reply_markup"] = markup
                self.keyboards.record(chat_id, markup)
            return message
        if name == "getUpdates":
            return []
        return True  # answerCallbackQuery, setMyCommands, deleteWebhook, …
