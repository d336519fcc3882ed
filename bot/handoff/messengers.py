"""The user's side of a case: one messenger per transport, picked by the case's address.

Staff always work in one place (the desk: the Telegram staff group's topics). A case's user may be on
another messenger, so everything said to or copied from a user goes through the messenger of their
address's transport: Telegram copies messages by id, Signal sends and relays text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine import Reply
from bot.handoff.relays import RelayItem


class Messenger(Protocol):
    """How the bot speaks with the users of one transport during a case. Refusals raise DeskError.

    `user` is the id part of the case's address (a Telegram chat id as text, a Signal UUID).
    """

    async def tell_user(self, user: str, reply: Reply, locale: str) -> None:
        """Send a bot message about the handoff to the user (`locale` for any words the transport adds)."""

    async def copy_in(self, user: str, item: RelayItem, thread_id: int) -> None:
        """Copy the user's message (or show their edit) in the case topic."""

    async def send_out(self, user: str, item: RelayItem, staff_alias: str) -> str | None:
        """Send a staff reply to the user under the staff alias; returns a note for staff about any part that
        could not be sent (then posted in the case topic), or None."""


class ChatDesk(Protocol):
    """A desk whose messenger also reaches users by integer chat id (Telegram's, the console's)."""

    async def tell_user(self, chat_id: int, reply: Reply) -> None: ...

    async def copy_in(self, chat_id: int, item: RelayItem, thread_id: int) -> None: ...

    async def send_out(self, chat_id: int, item: RelayItem, staff_alias: str) -> None: ...


@dataclass(frozen=True)
class ChatIdMessenger:
    """The user side of a desk that speaks to its own messenger's users by chat id, as it always has."""

    desk: ChatDesk

    async def tell_user(self, user: str, reply: Reply, locale: str) -> None:
        await self.desk.tell_user(int(user), reply)

    async def copy_in(self, user: str, item: RelayItem, thread_id: int) -> None:
        await self.desk.copy_in(int(user), item, thread_id)

    async def send_out(self, user: str, item: RelayItem, staff_alias: str) -> str | None:
        await self.desk.send_out(int(user), item, staff_alias)
        return None


def speaks_to_users(desk: object) -> bool:
    """Whether a desk also reaches its own messenger's users (it has the chat-id user side)."""
    return all(callable(getattr(desk, name, None)) for name in ("tell_user", "copy_in", "send_out"))
