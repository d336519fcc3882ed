"""Raw Bot API updates for one simulated user's steps, as Telegram would send them."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from bench.localapi import BOT_USER
from bench.walk import Step


class StepError(Exception):
    """A step cannot be taken: the button it presses was not on the latest keyboard."""


@dataclass
class UpdateMaker:
    """Numbers updates and messages; builds /commands, typed text and button presses."""

    language_code: str = "en"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": self.language_code}

    def chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": "Bench"}

    def text(self, chat_id: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(chat_id),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(self._ids), "message": message}

    def press(self, chat_id: int, data: str) -> dict[str, Any]:
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": BOT_USER,
            "text": "menu",
        }
        query = {
            "id": str(next(self._ids)),
            "from": self.user(chat_id),
            "chat_instance": "bench",
            "message": message,
            "data": data,
        }
        return {"update_id": next(self._ids), "callback_query": query}

    def step(self, chat_id: int, step: Step, keyboard: list[str] | None) -> dict[str, Any]:
        """The update for `step`, pressing a button of `keyboard` (the latest one the user was sent)."""
        if step.kind == "command":
            return self.text(chat_id, f"/{step.command}")
        if step.kind == "text":
            return self.text(chat_id, step.text)
        return self.press(chat_id, press_data(keyboard, step.position))


def press_data(keyboard: list[str] | None, position: int) -> str:
    """The callback data of the button at `position`, or StepError naming what was there."""
    if not keyboard or position >= len(keyboard):
        raise StepError(f"no button at position {position}: the latest keyboard had {len(keyboard or [])}")
    return keyboard[position]
