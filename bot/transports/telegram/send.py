"""Sending on Telegram: replies as HTML messages, remembered for /clear, and what a refusal means.

Retries of flood-controlled calls are PTB's AIORateLimiter's (set up in app.py); a refusal that
outlasts them becomes a DeskError of kind RETRY, so a relay waits and tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.engine import Reply
from bot.handoff.desk import REFUSED, RETRY, TOPIC_GONE, USER_GONE, DeskError
from bot.transports.recent import RecentMessages
from bot.transports.telegram.render import render_reply

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
# A preview card would show a site's name and picture large in the chat, for anyone glancing at the screen.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
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
class Sender:
    """The bot's side of every chat: sends replies and deletes them again; `bot` is set when the app is built."""

    recent: RecentMessages[int] = field(default_factory=RecentMessages)
    clock: Callable[[], float] = time.time
    bot: Bot = field(init=False)

    def remember(self, chat_id: int, message_id: int) -> None:
        """Keep a message's id for /clear (in memory only, for as long as Telegram lets it be deleted)."""
        self.recent.add(chat_id, message_id, self.clock())

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
            self.remember(chat_id, sent.message_id)

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
