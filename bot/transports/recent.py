"""Recent message ids per chat, in memory only, so /clear can delete them; never written to disk."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

DELETABLE_FOR = 48 * 3600 - 300  # Telegram lets a bot delete private-chat messages for 48 hours

Chat = TypeVar("Chat", bound=Hashable)


@dataclass
class RecentMessages(Generic[Chat]):
    """Bounded: at most `per_chat` ids for each of at most `chats` chats, oldest forgotten first.

    A chat is whatever the transport keys it by (a Telegram chat id, a Signal user's pseudonymous key).
    """

    per_chat: int = 500
    chats: int = 10_000
    deletable_for: float = DELETABLE_FOR  # how long the messenger still lets the bot delete a message
    _ids: OrderedDict[Chat, deque[tuple[int, float]]] = field(default_factory=OrderedDict)

    def add(self, chat_id: Chat, message_id: int, now: float) -> None:
        """Remember a message (the user's or the bot's) sent at `now` (seconds)."""
        ids = self._ids.get(chat_id)
        if ids is None:
            ids = self._ids[chat_id] = deque(maxlen=self.per_chat)
            while len(self._ids) > self.chats:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(chat_id)
        ids.append((message_id, now))

    def take(self, chat_id: Chat, now: float) -> list[int]:
        """Forget and return the ids still deletable, oldest first."""
        ids = self._ids.pop(chat_id, deque())
        return [message_id for message_id, sent in ids if now - sent < self.deletable_for]

    def forget(self, chat_id: Chat) -> None:
        """Drop everything about a chat."""
        self._ids.pop(chat_id, None)
