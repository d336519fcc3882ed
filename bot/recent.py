"""Recent message ids per chat, in memory only, so /clear can delete them; never written to disk."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

DELETABLE_FOR = 48 * 3600 - 300  # Telegram lets a bot delete private-chat messages for 48 hours


@dataclass
class RecentMessages:
    """Bounded: at most `per_chat` ids for each of at most `chats` chats, oldest forgotten first."""

    per_chat: int = 500
    chats: int = 10_000
    _ids: OrderedDict[int, deque[tuple[int, float]]] = field(default_factory=OrderedDict)

    def add(self, chat_id: int, message_id: int, now: float) -> None:
        """Remember a message (the user's or the bot's) sent at `now` (seconds)."""
        ids = self._ids.get(chat_id)
        if ids is None:
            ids = self._ids[chat_id] = deque(maxlen=self.per_chat)
            while len(self._ids) > self.chats:
                self._ids.popitem(last=False)
        else:
            self._ids.move_to_end(chat_id)
        ids.append((message_id, now))

    def take(self, chat_id: int, now: float) -> list[int]:
        """Forget and return the ids still deletable, oldest first."""
        ids = self._ids.pop(chat_id, deque())
        return [message_id for message_id, sent in ids if now - sent < DELETABLE_FOR]

    def forget(self, chat_id: int) -> None:
        """Drop everything about a chat."""
        self._ids.pop(chat_id, None)
