"""A Signal user's side of a case: staff replies go out as Signal text, the user's messages come in as text.

Staff keep working in the Telegram staff group. Nothing can be copied across messengers by id, so a
Signal user's text is posted in the case topic by the bot, exactly as a copied Telegram text looks
(staff can't tell the messenger from it). Attachments are never fetched (signal-cli runs with
`--ignore-attachments`) or passed on: staff are told one came, and can ask the user about it. A staff
photo or file can't be sent to Signal either: its caption is, and staff are told the rest was not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.engine import Reply
from bot.handoff.desk import REFUSED, RETRY, USER_GONE, Desk, DeskError
from bot.handoff.relays import RelayItem
from bot.transports.signal.render import (
    MAX_MESSAGE,
    SignalMessage,
    Span,
    in_case,
    signal_reply,
    split_text,
    utf16_length,
)
from bot.transports.signal.send import RATE_LIMIT, TRANSIENT, NotDelivered, UserGone
from bot.transports.signal.transport import TRANSPORT
from bot.wording import staff_text

if TYPE_CHECKING:
    from bot.transports.signal.transport import SignalTransport

NETWORK_WAIT = 5.0  # seconds before a relay is tried again when signal-cli can't be reached
# Words for the kinds of attachment, in staff notes (staff read English, like the rest of their notes).
KINDS = {
    "photo": "a photo",
    "voice": "a voice message",
    "video": "a video",
    "document": "a file",
    "sticker": "a sticker",
    "poll": "a poll",
}


@dataclass
class SignalMessenger:
    """The Messenger for Signal users; `staff` is the desk, where the user's words are posted."""

    transport: SignalTransport
    staff: Desk

    def staff_say(self, key: str, **values: object) -> str:
        """A staff note from flows/messages.yaml (staff read the default language)."""
        return staff_text(self.transport.conversations.flows, key, **values)

    async def tell_user(self, user: str, reply: Reply, locale: str) -> None:
        key = self.transport.conversations.keyring.user_key(TRANSPORT, user)
        await self.send(user, key, signal_reply(self.transport.conversations.flows, reply, locale))
        if not in_case(reply):
            # Choices after a case (the menu, Did this help?) are answered by typing, as on any menu.
            self.transport.offered.offer(key, reply.buttons)

    async def copy_in(self, user: str, item: RelayItem, thread_id: int) -> None:
        text = item.text or ""
        if item.kind == "edit":
            text = f"{self.staff_say('staff_user_edited')}\n{text}"
        elif item.kind == "in" and item.media:
            note = self.staff_say("staff_attachment_not_copied", kind=KINDS.get(item.media, "an attachment"))
            text = f"{note}\n{text}".rstrip()
        if text:
            await self.staff.note(thread_id, text)

    async def send_out(self, user: str, item: RelayItem, staff_alias: str) -> str | None:
        """The user sees the alias in bold, never the staff account."""
        key = self.transport.conversations.keyring.user_key(TRANSPORT, user)
        body = (item.text or "").strip()
        if body:
            head = f"{staff_alias}\n"
            pieces = split_text(body, MAX_MESSAGE - len(head))
            bold = Span(0, utf16_length(staff_alias))
            await self.send(user, key, tuple(SignalMessage(head + piece, (bold,)) for piece in pieces))
        if item.is_text:
            return None
        return self.staff_say("staff_attachment_not_sent")

    async def send(self, user: str, key: bytes, messages: tuple[SignalMessage, ...]) -> None:
        """Send through the transport; what Signal refused becomes the DeskError a case understands."""
        try:
            await self.transport.sender.send_all(user, key, messages, strict=True)
        except UserGone:
            raise DeskError("send", "the user is no longer on Signal", USER_GONE) from None
        except NotDelivered as exc:
            failure = exc.failure
            if failure.kind == RATE_LIMIT:
                raise DeskError("send", failure.kind, RETRY, float(failure.retry_after or NETWORK_WAIT)) from None
            if failure.kind in TRANSIENT:
                raise DeskError("send", failure.kind, RETRY, NETWORK_WAIT) from None
            raise DeskError("send", failure.kind, REFUSED) from None
