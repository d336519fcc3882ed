"""The staff group on Telegram: replies and commands in case topics, group commands, and other groups.

In a case topic a message is a reply to relay, a `!` note, or a case command (the handoff's
`staff_input`); in the main thread, `/queue`, `/stats`, `/reload` (admins only), `/id`, `/blocked` and
`/unblock` (admins only). The bot stays in no other group. Nothing a person posts goes unanswered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Chat, ChatMember, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.conversation import Conversations
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.handoff.stafftools import GROUP_TOOLS
from bot.reload import Reloader
from bot.stats.command import stats_reply
from bot.transports.telegram.publish import Publishing
from bot.transports.telegram.render import split_text
from bot.transports.telegram.send import Sender
from bot.vocabulary import parse_slash
from bot.wording import staff_text

log = logging.getLogger(__name__)


@dataclass
class StaffGroup:
    """Handlers for the staff supergroup `chat_id`, and for any group that is not it."""

    conversations: Conversations
    handoffs: Handoffs
    sender: Sender
    chat_id: int
    reloader: Reloader | None = None  # /reload needs it
    publishing: Publishing | None = None  # /flows, a sent file, /try, /publish… (bot/transports/telegram/publish.py)

    def say(self, key: str, /, **values: object) -> str:
        """A staff message in the default language."""
        return staff_text(self.conversations.flows, key, **values)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In a case topic: commands, notes and replies; in the main thread: /queue, /stats, /reload, /id.

        Nothing a person posts goes unanswered: anything the bot can't act on gets one line saying what to do.
        """
        message = update.message
        if message is None or (message.from_user and message.from_user.is_bot and message.sender_chat is None):
            return
        text = message.text if message.text is not None else message.caption
        if text is None and message.effective_attachment is None:
            return  # a service message (topic created, renamed, pinned, someone joined): not a reply
        slash = parse_slash(text or "")
        if slash is not None and slash.addressee:
            if slash.addressee.lower() != (self.sender.bot.username or "").lower():
                return  # a command for another bot in the group
            text = f"/{slash.name} {slash.arg}".strip()
        thread = message.message_thread_id if message.is_topic_message else None
        if message.sender_chat is not None:
            # Posted as the group (an anonymous admin) or as a channel: there's no person to answer as.
            await self.handoffs.staff_note(thread or 0, self.say("staff_anonymous"))
            return
        if not thread:
            await self.main_thread(message, slash.name if slash else "", slash.arg if slash else "", text or "")
            return
        relay = RelayItem("out", message.message_id, text, is_text=message.text is not None)
        await self.handoffs.staff.staff_input(thread, text, relay, lambda: self.is_admin(message))

    async def main_thread(self, message: Message, command: str, arg: str, text: str) -> None:
        """A message in the group's main thread: a group command, a `!` note, or a hint about where to reply."""
        if self.publishing is not None and await self.publishing.handle(message, command, arg):
            return
        if command == "queue":
            await self.post(await self.handoffs.staff.queue())
        elif command == "stats":
            await self.post(await stats_reply(self.conversations, arg))
        elif command == "reload":
            # Refused silently to anyone but an admin, who would not expect a reply.
            if self.reloader is not None and await self.is_admin(message):
                await self.reloader.reload("/reload")  # its notice goes to the staff group
        elif command == "id":
            await self.post(self.say("staff_group_id", id=self.chat_id))
        elif command in GROUP_TOOLS:  # /unblock ALIAS, /blocked
            await self.post(await self.handoffs.tools.group_command(command, arg, lambda: self.is_admin(message)))
        elif not text.startswith("!"):
            await self.post(self.say("staff_main_thread_hint"))

    async def post(self, text: str) -> None:
        """Post a notice in the staff group's main thread, split to fit Telegram's limit."""
        for piece in split_text(text):
            await self.handoffs.desk.note(0, piece)

    async def is_admin(self, message: Message) -> bool:
        """Whether the sender administers the staff group (asked of Telegram each time, so it is never stale)."""
        if message.from_user is None:
            return False
        try:
            admins = await self.sender.bot.get_chat_administrators(self.chat_id)
        except TelegramError as exc:
            log.warning("could not list the staff group's admins: %s", type(exc).__name__)
            return False
        return any(member.user.id == message.from_user.id for member in admins)

    # -- other groups ---------------------------------------------------------------------------

    async def on_foreign_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot answers only private chats and the staff group: it leaves anywhere else.

        `/id` is answered first, so staff can find their group's id. It never leaves a group where it
        is an admin: that is the staff group under a wrong STAFF_CHAT_ID far more likely than a stranger's.
        """
        chat = update.effective_chat
        if chat is None or chat.type == Chat.PRIVATE or chat.id == self.chat_id:
            return
        bot = self.sender.bot
        message = update.effective_message
        slash = parse_slash(message.text or "") if message is not None else None
        if slash is not None and slash.name == "id":
            await bot.send_message(chat.id, self.say("staff_group_id", id=chat.id))
        try:
            member = await bot.get_chat_member(chat.id, bot.id)
            if member.status == ChatMember.ADMINISTRATOR:
                log.error(
                    "the bot is an admin of a group that is not STAFF_CHAT_ID, so it stays: if that is the "
                    "staff group, fix STAFF_CHAT_ID (send /id there; python -m bot doctor checks it)"
                )
                return
        except TelegramError as exc:
            log.warning("Telegram refused getChatMember: %s", exc.message)
        log.warning("leaving a group that is not the staff group")
        await bot.leave_chat(chat.id)

    async def on_my_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Added to a group that is not the staff group: leave at once."""
        change = update.my_chat_member
        if change is None:
            return
        joined = change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED)
        if joined:
            await self.on_foreign_group(update, context)
