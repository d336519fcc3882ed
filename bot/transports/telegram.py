"""The Telegram transport: python-telegram-bot v22 handlers that feed the conversation service.

Wiring is in `build_application`; each handler is small and only translates between Telegram and
the engine's Inbound/Reply. Nothing here logs chat ids, names or text.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Bot, BotCommand, Chat, ChatMember, LinkPreviewOptions, Message, Update
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
from bot.handoff import Handoffs
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
TICK_SECONDS = 30.0  # how often waiting and quiet cases are looked at


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
class TelegramDesk:
    """The staff side on Telegram: one forum topic per case in the staff supergroup."""

    transport: "TelegramTransport"

    async def open_topic(self, title: str) -> int:
        topic = await self.transport.bot.create_forum_topic(self.transport.staff_chat_id, title)
        return topic.message_thread_id

    async def note(self, thread_id: int, text: str) -> None:
        await self.transport.bot.send_message(
            self.transport.staff_chat_id, html.escape(text, quote=False), parse_mode=ParseMode.HTML,
            message_thread_id=thread_id or None,
        )

    async def close_topic(self, thread_id: int) -> None:
        try:
            await self.transport.bot.close_forum_topic(self.transport.staff_chat_id, thread_id)
        except TelegramError as exc:
            log.warning("closing a case topic failed: %s", type(exc).__name__)

    async def tell_user(self, chat_id: int, reply: Reply) -> None:
        await self.transport.send(chat_id, reply, protect=True)


@dataclass
class TelegramTransport:
    """Handlers for private chats and the staff group; `bot` is set when the application is built."""

    conversations: Conversations
    staff_chat_id: int
    recent: RecentMessages = field(default_factory=RecentMessages)
    clock: Callable[[], float] = time.time
    handoffs: Handoffs = field(init=False)
    bot: Bot = field(init=False)

    def __post_init__(self) -> None:
        self.handoffs = Handoffs(self.conversations, TelegramDesk(self))

    # -- private chats ------------------------------------------------------------------------

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands and media from a user."""
        message = update.message
        if message is None:
            return
        chat_id = message.chat.id
        self.recent.add(chat_id, message.message_id, self.clock())
        language = message.from_user.language_code if message.from_user else None

        async def relay_in(thread_id: int) -> None:
            # copyMessage, never forwardMessage: a forward would show the user's profile to staff.
            await self.bot.copy_message(self.staff_chat_id, chat_id, message.message_id, message_thread_id=thread_id)

        await self.respond(chat_id, inbound_for(message), language, relay_in)

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
        await query.answer()
        await self.respond(chat_id, pick, query.from_user.language_code, None)

    async def respond(self, chat_id: int, inbound: Inbound, language: str | None, relay_in: Callable[[int], object] | None) -> None:
        """Relay into an open case or step the engine, then reply, in order with the user's other messages."""

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(chat_id, outcome)

        async def no_relay(thread_id: int) -> None:
            return None

        await self.handoffs.take_turn(TRANSPORT, chat_id, inbound, language, relay_in or no_relay, deliver)  # type: ignore[arg-type]

    async def carry_out(self, chat_id: int, outcome: Outcome) -> None:
        """Effects first (a cleared chat then shows only the confirmation), then the reply."""
        if any(isinstance(effect, ClearChat) for effect in outcome.effects):
            await self.clear_chat(chat_id)
        await self.send(chat_id, outcome.reply)

    async def send(self, chat_id: int, reply: Reply, protect: bool = False) -> None:
        """Send a reply as one or more HTML messages, remembering their ids for /clear."""
        for out in render_reply(reply):
            sent = await self.bot.send_message(
                chat_id,
                out.html,
                parse_mode=ParseMode.HTML,
                reply_markup=out.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                protect_content=protect or None,
            )
            self.recent.add(chat_id, sent.message_id, self.clock())

    async def clear_chat(self, chat_id: int) -> None:
        """Delete the messages of this chat that Telegram still allows, in batches."""
        ids = self.recent.take(chat_id, self.clock())
        for start in range(0, len(ids), DELETE_BATCH):
            try:
                await self.bot.delete_messages(chat_id, ids[start : start + DELETE_BATCH])
            except TelegramError as exc:
                log.warning("deleting a batch of messages failed: %s", type(exc).__name__)

    # -- the staff group ----------------------------------------------------------------------

    async def on_staff_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """In a case topic: commands, notes and replies; in the main thread: /queue."""
        message = update.message
        if message is None or (message.from_user and message.from_user.is_bot):
            return
        text = message.text if message.text is not None else message.caption
        if not message.is_topic_message or not message.message_thread_id:
            if text and text.strip().split("@", 1)[0].split(" ", 1)[0] == "/queue":
                await self.bot.send_message(self.staff_chat_id, html.escape(await self.handoffs.queue(), quote=False),
                                            parse_mode=ParseMode.HTML)
            return

        async def relay_out(chat_id: int, alias: str) -> None:
            # The user sees the alias, never the staff account; protect_content stops forwarding and saving.
            name = f"<b>{html.escape(alias)}</b>"
            if message.text is not None:
                sent_id = (await self.bot.send_message(
                    chat_id, f"{name}\n{html.escape(message.text, quote=False)}", parse_mode=ParseMode.HTML,
                    protect_content=True,
                )).message_id
            else:
                caption = f"{name}\n{html.escape(message.caption or '', quote=False)}".rstrip()
                sent_id = (await self.bot.copy_message(
                    chat_id, self.staff_chat_id, message.message_id, caption=caption, parse_mode=ParseMode.HTML,
                    protect_content=True,
                )).message_id
            self.recent.add(chat_id, sent_id, self.clock())

        await self.handoffs.staff_input(message.message_thread_id, text, relay_out)

    async def tick_forever(self) -> None:
        """Look at waiting and quiet cases every TICK_SECONDS; a failure is logged and retried next time."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.handoffs.tick()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any one failure
                log.error("case tick failed: %s", type(exc).__name__)

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
            await self.bot.send_message(chat.id, flows.texts.get(locale, flows.messages["error_retry"]))
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
    transport: TelegramTransport,
    token: str,
    base_url: str,
    base_file_url: str,
    rate_limiter: AIORateLimiter | None = None,
) -> Application:
    """Wire the handlers into a python-telegram-bot Application.

    The default limiter keeps to Telegram's published limits (30 messages a second overall, 20 a
    minute into one group) and retries 429s up to 20 times rather than dropping a message.
    """
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=20))
        # Users don't wait on each other; each user's own updates stay in order via the per-user lock.
        .concurrent_updates(64)
        .build()
    )
    transport.bot = application.bot
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private, transport.on_private_message))
    staff = filters.Chat(transport.staff_chat_id) & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(staff, transport.on_staff_message))
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


async def serve(
    application: Application,
    transport: TelegramTransport,
    stop: asyncio.Event,
    webhook: Webhook | None = None,
    poll_timeout: int = 30,
) -> None:
    """Run until `stop` is set, then shut down cleanly (state is written on every step)."""
    async with application:
        await transport.register_commands(application)
        await application.start()
        updater = application.updater
        assert updater is not None  # built with the default updater
        if webhook is None:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES, timeout=poll_timeout)
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
        ticker = asyncio.create_task(transport.tick_forever())
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            await updater.stop()
            await application.stop()
