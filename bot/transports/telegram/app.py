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
from dataclasses import dataclass, field, replace
from datetime import timedelta

from telegram import (
    Bot,
    BotCommand,
    Chat,
    ChatMember,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.conversation import Conversations
from bot.engine import ClearChat, Command, Inbound, Media, Outcome, Pick, Reply, Text
from bot.flows.spec import FlowSet
from bot.handoff.relays import RelayItem
from bot.handoff.service import (
    REFUSED,
    RETRY,
    TOPIC_GONE,
    USER_GONE,
    DeskError,
    Handoffs,
)
from bot.i18n.catalog import negotiate
from bot.ops.doctor import staff_group_problems
from bot.reload import Reloader
from bot.stats.command import stats_reply
from bot.transports.floodgate import FloodGate, Verdict
from bot.transports.recent import RecentMessages
from bot.transports.telegram.render import (
    MAX_MESSAGE,
    decode_callback,
    node_tags,
    render_reply,
    split_text,
)
from bot.vocabulary import MENU_COMMANDS, command_key, parse_slash
from bot.wording import message_text, staff_text

TRANSPORT = "telegram"
log = logging.getLogger(__name__)

# Message attributes that carry something other than text, in the order they are checked.
MEDIA_KINDS = (
    "photo", "voice", "video", "video_note", "sticker", "animation", "document", "audio",
    "venue", "location", "contact", "poll", "dice",
)
DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
CONNECTIONS = 16  # HTTP connections to the Bot API for sends (getUpdates has its own)
TICK_SECONDS = 30.0  # how often waiting and quiet cases are looked at
# A preview card would show a site's name and picture large in the chat, for anyone glancing at the screen.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def inbound_for(message: Message) -> Inbound:
    """What a Telegram message means to the engine."""
    if message.text is not None:
        slash = parse_slash(message.text)
        return Command(slash.name, slash.arg) if slash else Text(message.text.strip())
    for kind in MEDIA_KINDS:
        if getattr(message, kind, None):
            return Media(kind)
    return Media("other")


def telegram_language(code: str) -> str:
    """Telegram's command menus are keyed by two-letter ISO 639-1 codes (pt_BR -> pt)."""
    return code.split("_", 1)[0].lower()


MAX_CAPTION = 1024  # Telegram's limit on a caption, after entities are parsed
# Telegram's descriptions (matched in lower case) that mean the user or the case's topic is gone.
USER_GONE_MARKS = ("blocked by the user", "user is deactivated", "chat not found", "can't initiate conversation")
TOPIC_GONE_MARKS = ("thread not found", "topic_deleted", "topic_id_invalid", "topic not found")


def desk_error(method: str, exc: TelegramError, to_user: bool) -> DeskError:
    """What a Telegram refusal means for a case; logged with its method and description (no ids, no text)."""
    description = exc.message
    lowered = description.lower()
    if isinstance(exc, RetryAfter):
        log.warning("Telegram's flood control held %s: %s", method, description)
        retry = exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else float(exc.retry_after)
        return DeskError(method, description, RETRY, retry)
    if to_user and (isinstance(exc, Forbidden) or any(mark in lowered for mark in USER_GONE_MARKS)):
        kind = USER_GONE
    elif not to_user and any(mark in lowered for mark in TOPIC_GONE_MARKS):
        kind = TOPIC_GONE
    else:
        kind = REFUSED
    log.warning("Telegram refused %s: %s", method, description)
    return DeskError(method, description, kind)


@dataclass
class TelegramDesk:
    """The staff side on Telegram: one forum topic per case in the staff supergroup."""

    transport: "TelegramTransport"

    @property
    def bot(self) -> Bot:
        return self.transport.bot

    @property
    def group(self) -> int:
        return self.transport.staff_chat_id

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
                await self.bot.send_message(self.group, html.escape(piece, quote=False), parse_mode=ParseMode.HTML,
                                            message_thread_id=thread_id or None)
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
            await self.transport.send(chat_id, reply, protect=True)
        except TelegramError as exc:
            raise desk_error("sendMessage", exc, True) from None

    async def copy_in(self, chat_id: int, item: RelayItem, thread_id: int) -> None:
        # copyMessage, never forwardMessage: a forward would show the user's profile to staff.
        if item.kind == "edit":
            flows = self.transport.conversations.flows
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
                sent = await self.bot.copy_message(chat_id, self.group, item.message_id, caption=caption,
                                                   parse_mode=ParseMode.HTML, protect_content=True)
                self.transport.recent.add(chat_id, sent.message_id, self.transport.clock())
                method = "sendMessage"
            for piece in texts:
                message = await self.bot.send_message(chat_id, f"{name}\n{html.escape(piece, quote=False)}",
                                                      parse_mode=ParseMode.HTML, protect_content=True)
                self.transport.recent.add(chat_id, message.message_id, self.transport.clock())
        except TelegramError as exc:
            raise desk_error(method, exc, True) from None


@dataclass
class TelegramTransport:
    """Handlers for private chats and the staff group; `bot` is set when the application is built."""

    conversations: Conversations
    staff_chat_id: int
    recent: RecentMessages[int] = field(default_factory=RecentMessages)
    clock: Callable[[], float] = time.time
    reloader: Reloader | None = None  # live reload of flows/ and locales/; /reload needs it
    floodgate: FloodGate = field(default_factory=FloodGate)
    handoffs: Handoffs = field(init=False)
    purged_day: int = field(default=0, init=False)
    bot: Bot = field(init=False)

    def __post_init__(self) -> None:
        self.handoffs = Handoffs(self.conversations, TelegramDesk(self))
        if self.reloader is not None:
            if self.reloader.notify is None:
                self.reloader.notify = self.post_to_staff  # reload results and errors go to the staff group
            if self.reloader.on_loaded is None:
                self.reloader.on_loaded = self.register_commands  # edited command descriptions go live too

    # -- private chats ------------------------------------------------------------------------

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
            await self.bot.send_message(chat.id, self.say_outside_a_step(update, "slow_down"))
        raise ApplicationHandlerStop

    def say_outside_a_step(self, update: Update, key: str) -> str:
        """A message in the user's Telegram language, for replies sent without loading their state."""
        flows = self.conversations.flows
        user = update.effective_user
        locale = negotiate(user.language_code if user else None, flows.settings.languages, flows.settings.default_language)
        return message_text(flows, key, locale)

    async def on_private_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, commands and media from a user."""
        message = update.message
        if message is None:
            return
        chat_id = message.chat.id
        self.recent.add(chat_id, message.message_id, self.clock())
        language = message.from_user.language_code if message.from_user else None
        relay = RelayItem("in", message.message_id)
        await self.respond(chat_id, inbound_for(message), language, relay, message.caption)

    async def on_private_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: during a live chat staff see the new version, marked as an edit."""
        message = update.edited_message
        if message is None:
            return
        text = message.text if message.text is not None else message.caption
        if text:
            await self.handoffs.user_edited(TRANSPORT, message.chat.id, RelayItem("edit", message.message_id, text))

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

    async def respond(self, chat_id: int, inbound: Inbound, language: str | None, relay: RelayItem | None,
                      caption: str | None = None) -> None:
        """Queue into an open case or step the engine, then reply, in order with the user's other messages."""

        async def deliver(outcome: Outcome) -> None:
            await self.carry_out(chat_id, outcome)

        await self.handoffs.take_turn(TRANSPORT, chat_id, inbound, language, relay, deliver, caption)

    async def carry_out(self, chat_id: int, outcome: Outcome) -> None:
        """Effects first (a cleared chat then shows only the confirmation), then the reply."""
        reply = outcome.reply
        if any(isinstance(effect, ClearChat) for effect in outcome.effects):
            deleted = await self.clear_chat(chat_id)
            # Say honestly how many went: after a restart, or for old messages, it may be none.
            flows, locale = self.conversations.flows, outcome.state.locale or self.conversations.flows.settings.default_language
            claimed = message_text(flows, "cleared", locale)
            honest = message_text(flows, "cleared_count", locale, count=deleted) if deleted else message_text(flows, "cleared_none", locale)
            reply = replace(reply, parts=tuple(honest if part == claimed else part for part in reply.parts))
        await self.send(chat_id, reply)

    async def send(self, chat_id: int, reply: Reply, protect: bool = False) -> None:
        """Send a reply as one or more HTML messages, remembering their ids for /clear."""
        for out in render_reply(reply):
            sent = await self.bot.send_message(
                chat_id,
                out.html,
                parse_mode=ParseMode.HTML,
                reply_markup=out.keyboard,
                link_preview_options=NO_PREVIEW if out.may_preview else None,
                protect_content=protect or None,
            )
            self.recent.add(chat_id, sent.message_id, self.clock())

    async def clear_chat(self, chat_id: int) -> int:
        """Delete the messages of this chat that Telegram still allows, in batches; returns how many went."""
        ids = self.recent.take(chat_id, self.clock())
        deleted = 0
        for start in range(0, len(ids), DELETE_BATCH):
            batch = ids[start : start + DELETE_BATCH]
            try:
                await self.bot.delete_messages(chat_id, batch)
                deleted += len(batch)
            except TelegramError as exc:
                log.warning("Telegram refused deleteMessages: %s", exc.message)
        return deleted

    # -- the staff group ----------------------------------------------------------------------

    async def on_staff_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
            if slash.addressee.lower() != (self.bot.username or "").lower():
                return  # a command for another bot in the group
            text = f"/{slash.name} {slash.arg}".strip()
        command = slash.name if slash is not None else ""
        thread = message.message_thread_id if message.is_topic_message else None
        if message.sender_chat is not None:
            # Posted as the group (an anonymous admin) or as a channel: there's no person to answer as.
            await self.handoffs.staff_note(thread or 0, staff_text(self.conversations.flows, "staff_anonymous"))
            return
        if not thread:
            if command == "queue":
                await self.post_to_staff(await self.handoffs.queue())
            elif command == "stats":
                await self.post_to_staff(await stats_reply(self.conversations, slash.arg if slash else ""))
            elif command == "reload":
                # Refused silently to anyone but an admin, who would not expect a reply.
                if self.reloader is not None and await self.is_staff_admin(message):
                    await self.reloader.reload("/reload")  # its notice goes to the staff group
            elif command == "id":
                await self.post_to_staff(staff_text(self.conversations.flows, "staff_group_id", id=self.staff_chat_id))
            elif not (text or "").startswith("!"):
                await self.post_to_staff(staff_text(self.conversations.flows, "staff_main_thread_hint"))
            return
        relay = RelayItem("out", message.message_id, text, is_text=message.text is not None)
        await self.handoffs.staff_input(thread, text, relay)

    async def post_to_staff(self, text: str) -> None:
        """Post a notice in the staff group's main thread, split to fit Telegram's limit."""
        for piece in split_text(text):
            await self.handoffs.desk.note(0, piece)

    async def is_staff_admin(self, message: Message) -> bool:
        """Whether the sender administers the staff group (asked of Telegram each time, so it is never stale)."""
        if message.from_user is None:
            return False
        try:
            admins = await self.bot.get_chat_administrators(self.staff_chat_id)
        except TelegramError as exc:
            log.warning("could not list the staff group's admins: %s", type(exc).__name__)
            return False
        return any(member.user.id == message.from_user.id for member in admins)

    async def tick_forever(self) -> None:
        """Look at waiting and quiet cases every TICK_SECONDS; the purge runs on its own, so neither stops the other."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.handoffs.tick()
            except Exception as exc:  # noqa: BLE001 - the loop must outlive any one failure
                log.error("case tick failed: %s", type(exc).__name__)
            try:
                await self.purge_daily()
            except Exception as exc:  # noqa: BLE001
                log.error("daily purge failed: %s", type(exc).__name__)

    async def purge_daily(self) -> int:
        """Delete sessions idle past the retention, once per local day while the bot runs."""
        today = self.conversations.local_now().date().toordinal()
        if today == self.purged_day:
            return 0
        self.purged_day = today
        purged = await self.conversations.store.purge(today, self.conversations.flows.settings.retention_days)
        log.info("purged %d idle session(s)", purged)
        return purged

    # -- other chats --------------------------------------------------------------------------

    async def on_foreign_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot answers only private chats and the staff group: it leaves anywhere else.

        `/id` is answered first, so staff can find their group's id. It never leaves a group where it
        is an admin: that is the staff group under a wrong STAFF_CHAT_ID far more likely than a stranger's.
        """
        chat = update.effective_chat
        if chat is None or chat.type == Chat.PRIVATE or chat.id == self.staff_chat_id:
            return
        message = update.effective_message
        slash = parse_slash(message.text or "") if message is not None else None
        if slash is not None and slash.name == "id":
            await self.bot.send_message(chat.id, staff_text(self.conversations.flows, "staff_group_id", id=chat.id))
        try:
            member = await self.bot.get_chat_member(chat.id, self.bot.id)
            if member.status == ChatMember.ADMINISTRATOR:
                log.error("the bot is an admin of a group that is not STAFF_CHAT_ID, so it stays: if that is the "
                          "staff group, fix STAFF_CHAT_ID (send /id there; python -m bot doctor checks it)")
                return
        except TelegramError as exc:
            log.warning("Telegram refused getChatMember: %s", exc.message)
        log.warning("leaving a group that is not the staff group")
        await self.bot.leave_chat(chat.id)

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
        detail = f" ({error.message})" if isinstance(error, TelegramError) else ""
        log.error("update failed: %s%s at %s", type(error).__name__, detail, where)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat = update.effective_chat
        if chat.type != Chat.PRIVATE:
            return
        try:
            await self.bot.send_message(chat.id, self.say_outside_a_step(update, "error_retry"))
        except TelegramError as exc:
            log.warning("could not send the retry message: %s", type(exc).__name__)

    # -- start-up -----------------------------------------------------------------------------

    async def register_commands(self, flows: FlowSet) -> None:
        """The command menu, in each offered language and a default, worded from `flows`."""
        settings = flows.settings

        def commands(locale: str) -> list[BotCommand]:
            return [BotCommand(name, flows.texts.get(locale, flows.messages[command_key(name)])) for name in MENU_COMMANDS]

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
    transport.bot = application.bot
    application.add_handler(TypeHandler(Update, transport.gate), group=-1)
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(private, transport.on_private_message))
    edits = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
    application.add_handler(MessageHandler(edits, transport.on_private_edit))
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
        await transport.register_commands(transport.conversations.flows)
        await application.start()
        try:
            for problem in await staff_group_problems(application.bot, transport.staff_chat_id):
                log.warning("set-up: %s", problem)  # the same lines as `python -m bot doctor`
        except Exception as exc:  # noqa: BLE001 - a failed check must not stop the bot serving users
            log.warning("set-up: the staff group could not be checked: %s", type(exc).__name__)
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
        await transport.handoffs.queues.resume()  # relays left waiting by the last stop
        ticker = asyncio.create_task(transport.tick_forever())
        watcher = asyncio.create_task(transport.reloader.watch_forever()) if transport.reloader else None
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            if watcher is not None:
                watcher.cancel()
            # Unsent relays stay stored (sealed) and are sent after the restart; nobody waits for them now.
            await transport.handoffs.queues.stop()
            await updater.stop()
            await application.stop()
