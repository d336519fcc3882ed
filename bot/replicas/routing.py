"""Which conversation an update belongs to: updates of one conversation are processed one at a time, in order.

The key is pseudonymous, like the store's: a private chat's is the user's own key (the one their session
is stored under); in a group each forum topic (or the main thread) is a conversation of its own, so
staff working in different topics don't wait on each other.
"""

from __future__ import annotations

from telegram import Chat, Update

from bot.privacy.keys import Keyring
from bot.transports.telegram.private import TRANSPORT

INBOX_CONTEXT = b"inbox:" + TRANSPORT.encode()


def conversation_of(update: Update, keyring: Keyring) -> bytes:
    """The pseudonymous key of the conversation `update` belongs to."""
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        # No chat (an inline query, say): the user's own conversation; a private chat's id is the user's.
        user = update.effective_user
        who: int | None = chat.id if chat is not None else (user.id if user is not None else None)
        return keyring.user_key(TRANSPORT, who if who is not None else "nobody")
    message = update.effective_message
    thread = message.message_thread_id if message is not None and message.is_topic_message else None
    return keyring.user_key(f"{TRANSPORT}-group", f"{chat.id}:{thread or 0}")


def seal_update(raw: bytes, keyring: Keyring) -> bytes:
    """An update's JSON as stored: sealed (it holds names and text) and bound to this transport's inbox."""
    return keyring.seal(raw, INBOX_CONTEXT)


def unseal_update(body: bytes, keyring: Keyring) -> bytes | None:
    """A stored update's JSON, or None when it cannot be opened (the secret changed)."""
    return keyring.unseal(body, INBOX_CONTEXT)
