"""The Telegram transport's wiring: the parts, the handlers registered in one place, errors, the command menu.

The parts are private.py (users' chats), staff.py (the staff group and other groups), desk.py (the
handoff's Desk on forum topics), send.py (sending and /clear) and render.py (HTML and keyboards);
the shared core (case tick, daily purge, reload) is bot/runtime.py. Nothing here logs chat ids,
names or text.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field

from telegram import Bot, BotCommand, Chat, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.conversation import Conversations
from bot.flows import FlowSet
from bot.handoff.service import Handoffs
from bot.ops.doctor import staff_group_problems
from bot.reload import Reloader
from bot.replicas.entry import UpdateTaken
from bot.runtime import Runtime
from bot.transports.floodgate import FloodGate
from bot.transports.recent import RecentMessages
from bot.transports.telegram.desk import TelegramDesk
from bot.transports.telegram.private import TRANSPORT, PrivateChats
from bot.transports.telegram.publish import publishing
from bot.transports.telegram.send import Sender
from bot.transports.telegram.staff import StaffGroup
from bot.vocabulary import MENU_COMMANDS, command_key

__all__ = ["TRANSPORT", "TelegramTransport", "Webhook", "build_application", "serve", "telegram_language"]

log = logging.getLogger(__name__)

CONNECTIONS = 16  # HTTP connections to the Bot API for sends (getUpdates has its own)


def telegram_language(code: str) -> str:
    """Telegram's command menus are keyed by two-letter ISO 639-1 codes (pt_BR -> pt)."""
    return code.split("_", 1)[0].lower()


@dataclass
class TelegramTransport:
    """One bot account: private chats and the staff group over the shared runtime.

    The runtime is built from `conversations` and `reloader` unless one is given as `core`.
    """

    conversations: Conversations
    staff_chat_id: int
    recent: RecentMessages[int] = field(default_factory=RecentMessages)
    clock: Callable[[], float] = time.time
    reloader: Reloader | None = None  # live reload of flows/ and locales/ (the core's, when one is given)
    floodgate: FloodGate = field(default_factory=FloodGate)
    core: InitVar[Runtime | None] = None
    runtime: Runtime = field(init=False)
    sender: Sender = field(init=False)
    handoffs: Handoffs = field(init=False)
    private: PrivateChats = field(init=False)
    staff: StaffGroup = field(init=False)

    def __post_init__(self, core: Runtime | None) -> None:
        self.runtime = core or Runtime(self.conversations, self.reloader)
        self.sender = Sender(self.recent, self.clock)
        self.handoffs = self.runtime.handoffs(TelegramDesk(self.sender, self.staff_chat_id, self.conversations))
        self.private = PrivateChats(self.conversations, self.handoffs, self.sender, self.floodgate)
        reloader = self.runtime.reloader
        self.staff = StaffGroup(self.conversations, self.handoffs, self.sender, self.staff_chat_id, reloader)
        if reloader is not None:
            self.staff.publishing = publishing(self.conversations, reloader, self.staff.is_admin, self.staff.post)
        # Reload results and errors go to the staff group; edited command descriptions go live too.
        self.runtime.follow_reloads(self.post_to_staff, self.register_commands)

    @property
    def bot(self) -> Bot:
        """The application's bot, once `build_application` has run."""
        return self.sender.bot

    async def post_to_staff(self, text: str) -> None:
        """Post a notice in the staff group's main thread."""
        await self.staff.post(text)

    async def purge_daily(self) -> int:
        """Delete sessions idle past the retention, once per local day (the runtime's chore)."""
        return await self.runtime.purge_daily()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure without identifiers or text, and tell a private-chat user to retry."""
        error = context.error
        if isinstance(error, UpdateTaken):
            return  # another replica processed this update: nothing failed, nothing to tell anyone
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        where = " < ".join(f"{f.name}:{f.lineno}" for f in reversed(frames[-4:]))
        detail = f" ({error.message})" if isinstance(error, TelegramError) else ""
        log.error("update failed: %s%s at %s", type(error).__name__, detail, where)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat = update.effective_chat
        if chat.type != Chat.PRIVATE:
            return
        try:
            await self.bot.send_message(chat.id, self.private.say_outside_a_step(update, "error_retry"))
        except TelegramError as exc:
            log.warning("could not send the retry message: %s", type(exc).__name__)

    async def register_commands(self, flows: FlowSet) -> None:
        """The command menu, in each offered language and a default, worded from `flows`."""
        settings = flows.settings

        def commands(locale: str) -> list[BotCommand]:
            describe = flows.texts.get
            return [BotCommand(name, describe(locale, flows.messages[command_key(name)])) for name in MENU_COMMANDS]

        await self.bot.set_my_commands(commands(settings.default_language))
        for code in dict.fromkeys(telegram_language(c) for c in settings.languages):
            locale = next(c for c in settings.languages if telegram_language(c) == code)
            await self.bot.set_my_commands(commands(locale), language_code=code)


def build_application(
    transport: TelegramTransport,
    token: str,
    base_url: str,
    base_file_url: str,
    rate_limiter: AIORateLimiter | None = None,
    request: BaseRequest | None = None,
) -> Application:
    """Wire the handlers into a python-telegram-bot Application.

    The default limiter keeps to Telegram's published limits (30 messages a second overall, 20 a
    minute into one group) and retries 429s up to 20 times rather than dropping a message.
    `request` replaces PTB's HTTP client (the benchmark answers the bot's calls in process with it).
    """
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=20))
        # Users don't wait on each other; each user's own updates stay in order via the per-user lock.
        .concurrent_updates(64)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # httpcore looks at every pooled connection for every waiting request, so PTB's default of
        # 256 connections cost more CPU than the sends themselves under load (bench/README.md);
        # at Telegram's 30 messages a second a few connections are plenty.
        builder = builder.connection_pool_size(CONNECTIONS)
    application = builder.build()
    transport.sender.bot = application.bot
    chats, staff = transport.private, transport.staff
    # Every handler is registered here; the flood gate runs first, before any of them.
    application.add_handler(TypeHandler(Update, chats.gate), group=-1)
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private, chats.on_message))
    edits = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
    application.add_handler(MessageHandler(edits, chats.on_edit))
    staff_group = filters.Chat(transport.staff_chat_id) & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(staff_group, staff.on_message))
    application.add_handler(CallbackQueryHandler(chats.on_callback))
    application.add_handler(ChatMemberHandler(staff.on_my_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    foreign = filters.ChatType.GROUPS & ~filters.Chat(transport.staff_chat_id)
    application.add_handler(MessageHandler(foreign, staff.on_foreign_group))
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
    poll_errors: Callable[[TelegramError], None] | None = None,
) -> None:
    """Run until `stop` is set, then shut down cleanly (state is written on every step)."""
    async with application:
        await transport.register_commands(transport.conversations.flows)
        await application.start()
        try:
            for problem in await staff_group_problems(application.bot, transport.staff_chat_id):
                log.warning("set-up: %s", problem)  # the same lines as `python -m bot doctor`
        except Exception as exc:
            log.warning("set-up: the staff group could not be checked: %s", type(exc).__name__)
        updater = application.updater
        assert updater is not None  # built with the default updater
        if webhook is None:
            await updater.start_polling(
                allowed_updates=Update.ALL_TYPES, timeout=poll_timeout, error_callback=poll_errors
            )
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
            async with transport.runtime.running(transport.handoffs):
                await stop.wait()
        finally:
            await updater.stop()
            await application.stop()
