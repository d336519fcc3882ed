"""Private chats on Telegram: a user's messages, edits and button presses in; the engine's replies out.

Each handler only translates: a Telegram message becomes an Inbound, an Outcome becomes messages.
The user's turn (queue into an open case, or step the engine) is the handoff's `take_turn`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from telegram import Chat, Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.conversation import Conversations
from bot.engine import ClearChat, Command, Inbound, Media, Outcome, Pick, Text
from bot.flows import FlowSet
from bot.handoff.relays import RelayItem
from bot.handoff.service import Handoffs
from bot.i18n.catalog import negotiate
from bot.transports.floodgate import FloodGate, Verdict
from bot.transports.telegram.render import decode_callback, node_tags
from bot.transports.telegram.send import Sender
from bot.vocabulary import parse_slash
from bot.wording import message_text

TRANSPORT = "telegram"  # the namespace of a Telegram chat id in the pseudonymous user key
log = logging.getLogger(__name__)

# Message attributes that carry something other than text, in the order they are checked.
MEDIA_KINDS = (
    "photo",
    "voice",
    "video",
    "video_note",
    "sticker",
    "animation",
    "document",
    "audio",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
)
STALE = Pick("", "stale")  # forged or outdated callback data: the engine answers it as a stale press


def inbound_for(message: Message) -> Inbound:
    """What a Telegram message means to the engine."""
    if message.text is not None:
        slash = parse_slash(message.text)
        return Command(slash.name, slash.arg) if slash else Text(message.text.strip())
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Media(kind)
    return Media("other")


@dataclass
class PrivateChats:
    """Handlers for users' private chats with the bot."""

    conversations: Conversations
    handoffs: Handoffs
    sender: Sender
    floodgate: FloodGate = field(default_factory=FloodGate)
    # Callback data names a node by a short tag: tag -> node id, for the flow set they were made from.
    _tags: tuple[FlowSet, Mapping[str, str]] | None = field(default=None, init=False)

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Runs before every handler: one private chat flooding is answered once, then ignored a while."""
        chat = update.effective_chat
        if chat is None or chat.type != Chat.PRIVATE:
            return
        verdict = self.floodgate.check(chat.id, time.monotonic())
        if verdict is Verdict.ALLOW:
            return
        if update.callback_query is not None:
            await update.callback_query.answer()
        if verdict is Verdict.WARN:
            log.warning("a private chat is sending too fast; slowing it down")
            await self.sender.bot.send_message(chat.id, self.say_outside_a_step(update, "slow_down"))
        raise ApplicationHandlerStop

    def say_outside_a_step(self, update: Update, key: str) -> str:
        """A message in the user's Telegram language, for replies sent without loading their state."""
        flows = self.conversations.flows
        user = update.effective_user
        settings = flows.settings
        locale = negotiate(user.language_code if user else None, settings.languages, settings.default_language)
        return message_text(flows, key, locale)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands and media from a user."""
        message = update.message
        if message is None:
            return
        chat_id = message.chat.id
        self.sender.remember(chat_id, message.message_id)
        language = message.from_user.language_code if message.from_user else None
        relay = RelayItem("in", message.message_id)
        await self.respond(chat_id, inbound_for(message), language, relay, message.caption)

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: during a live chat staff see the new version, marked as an edit."""
        message = update.edited_message
        if message is None:
            return
        text = message.text if message.text is not None else message.caption
        if text:
            await self.handoffs.turns.user_edited(
                TRANSPORT, message.chat.id, RelayItem("edit", message.message_id, text)
            )

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press; forged or stale data reaches the engine as a stale pick."""
        query = update.callback_query
        if query is None:
            return
        chat = query.message.chat if query.message else None
        if chat is not None and chat.type != Chat.PRIVATE:
            await query.answer()
            return
        # The state touched is always the presser's own: the key comes from this chat, not the data.
        chat_id = chat.id if chat is not None else query.from_user.id
        pick = decode_callback(query.data, self.tags()) or STALE
        await query.answer()
        await self.respond(chat_id, pick, query.from_user.language_code, None)

    def tags(self) -> Mapping[str, str]:
        """tag -> node id for the running flow set, worked out again after a reload (with the steps of a
        draft staff are trying, so its new steps' buttons work in their chat)."""
        flows = self.conversations.flows
        if self._tags is None or self._tags[0] is not flows or self.conversations.trying:
            drafts = (node for draft in self.conversations.trying.values() for node in draft.nodes)
            self._tags = (flows, node_tags({*flows.nodes, *drafts}))
        return self._tags[1]

    async def respond(
        self, chat_id: int, inbound: Inbound, language: str | None, relay: RelayItem | None, caption: str | None = None
    ) -> None:
        """Queue into an open case or step the engine, then reply, in order with the user's other messages."""

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(chat_id, outcome)

        await self.handoffs.turns.take_turn(TRANSPORT, chat_id, inbound, language, relay, deliver, caption)

    async def carry_out(self, chat_id: int, outcome: Outcome) -> None:
        """Effects first (a cleared chat then shows only the confirmation), then the reply."""
        reply = outcome.reply
        if any(isinstance(effect, ClearChat) for effect in outcome.effects):
            deleted = await self.sender.clear_chat(chat_id)
            # Say honestly how many went: after a restart, or for old messages, it may be none.
            flows = self.conversations.flows
            locale = outcome.state.locale or flows.settings.default_language
            claimed = message_text(flows, "cleared", locale)
            if deleted:
                honest = message_text(flows, "cleared_count", locale, count=deleted)
            else:
                honest = message_text(flows, "cleared_none", locale)
            reply = replace(reply, parts=tuple(honest if part == claimed else part for part in reply.parts))
        await self.sender.send(chat_id, reply)
