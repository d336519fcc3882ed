"""The Telegram transport: python-telegram-bot v22 handlers that feed the conversation service.

Wiring is in `build_application`; each handler is small and only translates between Telegram and
the engine's Inbound/Reply. Nothing here logs chat ids, names or text.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import BotCommand, Chat, ChatMember, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.conversation import Conversations
from bot.engine import ClearChat, Command, Inbound, Media, Outcome, Pick, Reply, Text
from bot.i18n import negotiate
from bot.recent import RecentMessages
from bot.transports.telegram_render import decode_callback, node_tags, render_reply

TRANSPORT = "telegram"
log = logging.getLogger(__name__)

# Message attributes that carry something other than text, in the order they are checked.
MEDIA_KINDS = (
    "photo", "voice", "video", "video_note", "sticker", "animation", "document", "audio",
    "venue", "location", "contact", "poll", "dice",
)
MENU_COMMANDS = ("start", "menu", "back", "language", "human", "help", "forget", "clear")
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


def inbound_for(message: Message) -> Inbound:
    """What a Telegram message means to the engine."""
    if message.text is not None:
        text = message.text.strip()
        if text.startswith("/") and len(text) > 1:
            name, _, arg = text[1:].partition(" ")
            return Command(name.split("@", 1)[0].lower(), arg.strip())
        return Text(text)
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Media(kind)
    return Media("other")


def telegram_language(code: str) -> str:
    """Telegram's command menus are keyed by two-letter ISO 639-1 codes (pt_BR -> pt)."""
    return code.split("_", 1)[0].lower()


@dataclass
class TelegramTransport:
    """Handlers for private chats; the staff group is left to the handoff module."""

    conversations: Conversations
    staff_chat_id: int
    recent: RecentMessages = field(default_factory=RecentMessages)
    clock: Callable[[], float] = time.time

    # -- private chats ------------------------------------------------------------------------

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands and media from a user."""
        message = update.message
        if message is None:
            return
        self.recent.add(message.chat.id, message.message_id, self.clock())
        language = message.from_user.language_code if message.from_user else None
        await self.respond(context, message.chat.id, inbound_for(message), language)

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
        tags = self.conversations.flows.memo.get("telegram_tags")
        if tags is None:
            tags = self.conversations.flows.memo["telegram_tags"] = node_tags(self.conversations.flows.nodes)
        pick = decode_callback(query.data, tags) or Pick("", "stale")

        async def deliver(outcome: Outcome) -> None:
            await query.answer()
            await self.carry_out(context, chat_id, outcome)

        await self.conversations.handle(TRANSPORT, chat_id, pick, query.from_user.language_code, deliver)

    async def respond(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, inbound: Inbound, language: str | None
    ) -> None:
        """Step the engine for this chat and send the reply, in order with the user's other messages."""

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(context, chat_id, outcome)

        await self.conversations.handle(TRANSPORT, chat_id, inbound, language, deliver)

    async def carry_out(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, outcome: Outcome) -> None:
        """Effects first (a cleared chat then shows only the confirmation), then the reply."""
        if any(isinstance(effect, ClearChat) for effect in outcome.effects):
            await self.clear_chat(context, chat_id)
        await self.send(context, chat_id, outcome.reply)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
        """Send a reply as one or more HTML messages, remembering their ids for /clear."""
        for out in render_reply(reply):
            sent = await context.bot.send_message(
                chat_id,
                out.html,
                parse_mode=ParseMode.HTML,
                reply_markup=out.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            self.recent.add(chat_id, sent.message_id, self.clock())

    async def clear_chat(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """Delete the messages of this chat that Telegram still allows, in batches."""
        ids = self.recent.take(chat_id, self.clock())
        for start in range(0, len(ids), DELETE_BATCH):
            try:
                await context.bot.delete_messages(chat_id, ids[start : start + DELETE_BATCH])
            except TelegramError as exc:
                log.warning("deleting a batch of messages failed: %s", type(exc).__name__)

    # -- other chats --------------------------------------------------------------------------

    async def on_foreign_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot answers only private chats and the staff group: it leaves anywhere else."""
        chat = update.effective_chat
        if chat is not None and chat.type != Chat.PRIVATE and chat.id != self.staff_chat_id:
            await context.bot.leave_chat(chat.id)

    async def on_my_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Added to a group that is not the staff group: leave at once."""
        change = update.my_chat_member
        if change is None:
            return
        joined = change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED)
        if joined:
            await self.on_foreign_group(update, context)

    # -- failures -----------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure without identifiers or text, and tell a private-chat user to retry."""
        error = context.error
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        where = " < ".join(f"{f.name}:{f.lineno}" for f in reversed(frames[-4:]))
        log.error("update failed: %s at %s", type(error).__name__, where)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat = update.effective_chat
        if chat.type != Chat.PRIVATE:
            return
        flows = self.conversations.flows
        user = update.effective_user
        locale = negotiate(user.language_code if user else None, flows.settings.languages, flows.settings.default_language)
        try:
            await context.bot.send_message(chat.id, flows.texts.get(locale, flows.messages["error_retry"]))
        except TelegramError as exc:
            log.warning("could not send the retry message: %s", type(exc).__name__)

    # -- start-up -----------------------------------------------------------------------------

    async def register_commands(self, application: Application) -> None:
        """The command menu, in each offered language and a default."""
        flows = self.conversations.flows
        settings = flows.settings

        def commands(locale: str) -> list[BotCommand]:
            return [BotCommand(name, flows.texts.get(locale, flows.messages[f"command_{name}"])) for name in MENU_COMMANDS]

        await application.bot.set_my_commands(commands(settings.default_language))
        for code in dict.fromkeys(telegram_language(c) for c in settings.languages):
            locale = next(c for c in settings.languages if telegram_language(c) == code)
            await application.bot.set_my_commands(commands(locale), language_code=code)


def build_application(
    transport: TelegramTransport, token: str, base_url: str, base_file_url: str, max_retries: int = 20
) -> Application:
    """Wire the handlers into a python-telegram-bot Application."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=max_retries))
        # Users don't wait on each other; each user's own updates stay in order via the per-user lock.
        .concurrent_updates(64)
        .build()
    )
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private, transport.on_private_message))
    application.add_handler(CallbackQueryHandler(transport.on_callback))
    application.add_handler(ChatMemberHandler(transport.on_my_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    foreign = filters.ChatType.GROUPS & ~filters.Chat(transport.staff_chat_id)
    application.add_handler(MessageHandler(foreign, transport.on_foreign_group))
    application.add_error_handler(transport.on_error)
    return application


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram should post updates, and where PTB's server listens."""

    url: str
    listen: str
    port: int
    secret_token: str


async def serve(application: Application, transport: TelegramTransport, stop: asyncio.Event, webhook: Webhook | None = None) -> None:
    """Run until `stop` is set, then shut down cleanly (state is written on every step)."""
    async with application:
        await transport.register_commands(application)
        await application.start()
        updater = application.updater
        assert updater is not None  # built with the default updater
        if webhook is None:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=30)
        else:
            from urllib.parse import urlsplit

            await updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=urlsplit(webhook.url).path.lstrip("/"),
                webhook_url=webhook.url,
                secret_token=webhook.secret_token,
                allowed_updates=Update.ALL_TYPES,
            )
        try:
            await stop.wait()
        finally:
            await updater.stop()
            await application.stop()
