"""The staff side on Telegram, as the handoff's `Desk`: one forum topic per case in the staff supergroup.

Messages are copied both ways, never forwarded: a forward would show the user's profile to staff, or
the staff account to the user. Every refusal is turned into a DeskError by `desk_error`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.conversation import Conversations
from bot.engine import Reply
from bot.handoff.relays import RelayItem
from bot.transports.telegram.render import MAX_MESSAGE, split_text
from bot.transports.telegram.send import Sender, desk_error
from bot.wording import staff_text

MAX_CAPTION = 1024  # Telegram's limit on a caption, after entities are parsed


@dataclass
class TelegramDesk:
    """Case topics in the staff supergroup `group`, and the bot's messages to users about their case."""

    sender: Sender
    group: int
    conversations: Conversations

    @property
    def bot(self) -> Bot:
        return self.sender.bot

    async def open_topic(self, title: str) -> int:
        try:
            topic = await self.bot.create_forum_topic(self.group, title)
        except TelegramError as exc:
            raise desk_error("createForumTopic", exc, False) from None
        return topic.message_thread_id

    async def reopen_topic(self, thread_id: int) -> None:
        try:
            await self.bot.reopen_forum_topic(self.group, thread_id)
        except TelegramError as exc:
            if "not_modified" not in exc.message.lower():  # already open
                raise desk_error("reopenForumTopic", exc, False) from None

    async def note(self, thread_id: int, text: str) -> None:
        for piece in split_text(text):
            try:
                await self.bot.send_message(
                    self.group,
                    html.escape(piece, quote=False),
                    parse_mode=ParseMode.HTML,
                    message_thread_id=thread_id or None,
                )
            except TelegramError as exc:
                raise desk_error("sendMessage", exc, False) from None

    async def close_topic(self, thread_id: int) -> None:
        try:
            await self.bot.close_forum_topic(self.group, thread_id)
        except TelegramError as exc:
            if "not_modified" not in exc.message.lower():  # already closed
                raise desk_error("closeForumTopic", exc, False) from None

    async def delete_topic(self, thread_id: int) -> None:
        try:
            await self.bot.delete_forum_topic(self.group, thread_id)
        except TelegramError as exc:
            raise desk_error("deleteForumTopic", exc, False) from None

    async def tell_user(self, chat_id: int, reply: Reply) -> None:
        try:
            await self.sender.send(chat_id, reply, protect=True)
        except TelegramError as exc:
            raise desk_error("sendMessage", exc, True) from None

    async def copy_in(self, chat_id: int, item: RelayItem, thread_id: int) -> None:
        # copyMessage, never forwardMessage: a forward would show the user's profile to staff.
        if item.kind == "edit":
            flows = self.conversations.flows
            await self.note(thread_id, f"{staff_text(flows, 'staff_user_edited')}\n{item.text or ''}")
            return
        if item.kind == "note":  # a bot note that must follow the message it is about
            await self.note(thread_id, item.text or "")
            return
        try:
            await self.bot.copy_message(self.group, chat_id, item.message_id, message_thread_id=thread_id)
        except TelegramError as exc:
            raise desk_error("copyMessage", exc, False) from None

    async def send_out(self, chat_id: int, item: RelayItem, staff_alias: str) -> None:
        """The user sees the alias, never the staff account; protect_content stops forwarding and saving.

        A text too long for one message is split; a caption too long is sent as text after the media.
        """
        name = f"<b>{html.escape(staff_alias)}</b>"
        body = item.text or ""
        method = "sendMessage"
        try:
            texts: list[str] = []
            if item.is_text:
                texts = split_text(body, MAX_MESSAGE - len(name) - 1)
            else:
                method = "copyMessage"
                caption = f"{name}\n{html.escape(body, quote=False)}".rstrip()
                if len(caption) > MAX_CAPTION:
                    caption, texts = name, split_text(body, MAX_MESSAGE - len(name) - 1)
                sent = await self.bot.copy_message(
                    chat_id,
                    self.group,
                    item.message_id,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                    protect_content=True,
                )
                self.sender.remember(chat_id, sent.message_id)
                method = "sendMessage"
            for piece in texts:
                message = await self.bot.send_message(
                    chat_id,
                    f"{name}\n{html.escape(piece, quote=False)}",
                    parse_mode=ParseMode.HTML,
                    protect_content=True,
                )
                self.sender.remember(chat_id, message.message_id)
        except TelegramError as exc:
            raise desk_error(method, exc, True) from None
