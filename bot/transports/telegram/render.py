"""Turning engine replies into Telegram messages: HTML, inline keyboards, callback data, splitting.

Pure functions: no network, so every rule here is tested directly.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine import Button, Pick, Reply, ServiceCard
from bot.vocabulary import PSEUDO_NODES, decode_action

MAX_MESSAGE = 4096  # Telegram's limit, counted after entity parsing; escaped HTML is longer, so it is safe
CALLBACK_VERSION = "v1"
RENDERED = 2048  # replies kept rendered: every menu in every language, and some room
# Telegram previews URLs and bare domains ("nhs.uk"); a message with none of these has nothing to
# preview, so it is sent without link_preview_options (that parameter was 7% of the time per update).
_MAY_LINK = re.compile(r"\w\.\w|://")


def node_tag(node_id: str) -> str:
    """A short stable tag for a node id, so callback data stays well under Telegram's 64 bytes."""
    return hashlib.blake2b(node_id.encode(), digest_size=5).hexdigest()


def node_tags(node_ids: Iterable[str]) -> Mapping[str, str]:
    """tag -> node id for a flow set (and the language picker)."""
    return {node_tag(node_id): node_id for node_id in (*node_ids, *PSEUDO_NODES)}


def encode_callback(button: Button) -> str:
    """`v1:<node tag>:<action>`: versioned so a future format can tell old buttons apart.

    The action is already in its wire form (bot.vocabulary's codec), so old buttons keep working.
    """
    return f"{CALLBACK_VERSION}:{node_tag(button.node)}:{button.action}"


def decode_callback(data: str | None, tags: Mapping[str, str]) -> Pick | None:
    """The button's Pick, or None if the data is forged, stale or from another format."""
    if not data or len(data) > 64:
        return None
    parts = data.split(":", 2)
    if len(parts) != 3 or parts[0] != CALLBACK_VERSION or decode_action(parts[2]) is None:
        return None
    node = tags.get(parts[1])
    return Pick(node, parts[2]) if node else None


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One Telegram message to send: HTML text and an optional inline keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None
    may_preview: bool = field(init=False)  # a URL or domain in the text: Telegram could show a preview

    def __post_init__(self) -> None:
        # Worked out once: rendered messages are cached and sent many times.
        object.__setattr__(self, "may_preview", _MAY_LINK.search(self.html) is not None)


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split text into pieces whose *escaped* length fits `limit`: at paragraphs, lines, then words."""
    if len(html.escape(text, quote=False)) <= limit:
        return [text]
    pieces: list[str] = []
    for separator in ("\n\n", "\n", " "):
        if separator in text:
            current = ""
            for chunk in text.split(separator):
                candidate = f"{current}{separator}{chunk}" if current else chunk
                if len(html.escape(candidate, quote=False)) <= limit:
                    current = candidate
                    continue
                if current:
                    pieces.append(current)
                current = chunk
            if current:
                pieces.append(current)
            # A chunk may still be too long (no separator inside it): split it with the next rule.
            return [small for piece in pieces for small in split_text(piece, limit)]
    # One unbroken run of characters: cut so that no escape sequence is split.
    out, current = [], ""
    for char in text:
        if len(html.escape(current + char, quote=False)) > limit:
            out.append(current)
            current = ""
        current += char
    return out + ([current] if current else [])


def render_card(card: ServiceCard) -> str:
    """A service as HTML: bold name, what it is for, then phone, text and hours with icons."""
    lines = [f"<b>{html.escape(card.name)}</b>", html.escape(card.about)]
    if card.phone:
        lines.append(f"☎ {html.escape(card.phone)}")
    if card.text:
        lines.append(f"💬 {html.escape(card.text)}")
    if card.hours:
        lines.append(f"🕒 {html.escape(card.hours)}")
    return "\n".join(lines)


def keyboard(
    buttons: Iterable[Button], url_rows: Iterable[tuple[str, str]] = (), urgent: bool = False
) -> InlineKeyboardMarkup | None:
    """URL buttons (one per service), then the choices, one per row so long labels fit.

    On an urgent page the choices come first: "Talk to a person now" must be the first thing to tap,
    not a website.
    """
    links = [[InlineKeyboardButton(f"🌐 {label}", url=url)] for label, url in url_rows]
    choices = [[InlineKeyboardButton(b.label, callback_data=encode_callback(b))] for b in buttons]
    rows = choices + links if urgent else links + choices
    return InlineKeyboardMarkup(rows) if rows else None


@lru_cache(maxsize=RENDERED)
def render_reply(reply: Reply) -> tuple[OutMessage, ...]:
    """Messages for one reply, in order; the last one carries the buttons.

    Cached: a menu is the same Reply each time it is shown, and building its keyboard objects was a
    tenth of the time per update in the benchmark. PTB's objects are immutable, so sharing them is safe.
    """
    texts = [piece for part in reply.parts for piece in split_text(part)]
    messages = [OutMessage(html.escape(text, quote=False)) for text in texts]
    if reply.services:
        cards = "\n\n".join(render_card(card) for card in reply.services)
        urls = [(card.name, card.url) for card in reply.services if card.url]
        title = f"{html.escape(reply.services_title, quote=False)}\n\n" if reply.services_title else ""
        for piece in _split_html_blocks(cards, MAX_MESSAGE - len(title)):
            messages.append(OutMessage(title + piece))
        last = messages[-1]
        messages[-1] = OutMessage(last.html, keyboard(reply.buttons, urls, reply.urgent))
    elif messages:
        messages[-1] = OutMessage(messages[-1].html, keyboard(reply.buttons))
    return tuple(messages)


def _split_html_blocks(cards_html: str, limit: int = MAX_MESSAGE) -> list[str]:
    # Cards are already escaped HTML; split only between cards so no tag is cut in half.
    out, current = [], ""
    for block in cards_html.split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) > limit and current:
            out.append(current)
            current = block
        else:
            current = candidate
    return out + ([current] if current else [])
