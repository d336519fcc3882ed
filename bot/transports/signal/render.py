"""Turning engine replies into Signal messages: plain text, numbered choices, bold through `textStyle`.

Signal has no buttons, so a reply's choices become a numbered list under a "Reply with a number" line;
the engine already takes a typed number or the choice's words. Pure functions, tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.engine import Reply, ServiceCard
from bot.flows import FlowSet
from bot.vocabulary import HANDOFF_NODE
from bot.wording import message_text

MAX_MESSAGE = 2000  # Signal shows longer texts as a "read more" attachment; keep each message whole
# The engine's texts that speak of tapping buttons, and what is said instead on Signal.
BUTTONLESS = (
    ("not_understood", "signal_not_understood"),
    ("media_not_supported", "signal_media_not_supported"),
    ("help", "signal_help"),
)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Signal's style and mention offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Span:
    """A styled run of a message, in UTF-16 code units."""

    start: int
    length: int
    style: str = "BOLD"

    def param(self) -> str:
        """As signal-cli's `textStyle` takes it: `start:length:STYLE`."""
        return f"{self.start}:{self.length}:{self.style}"


@dataclass(frozen=True, slots=True)
class SignalMessage:
    """One Signal message: its text and styled spans."""

    text: str
    spans: tuple[Span, ...] = ()

    def styles(self) -> list[str]:
        """The `textStyle` parameter for signal-cli's `send`."""
        return [span.param() for span in self.spans]


@dataclass
class _Builder:
    """Appends text while keeping span offsets in UTF-16 units."""

    text: str = ""
    spans: list[Span] | None = None

    def add(self, piece: str, bold: bool = False) -> None:
        if bold and piece:
            if self.spans is None:
                self.spans = []
            self.spans.append(Span(utf16_length(self.text), utf16_length(piece)))
        self.text += piece

    def build(self) -> SignalMessage:
        return SignalMessage(self.text, tuple(self.spans or ()))


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split text into pieces of at most `limit` characters: at paragraphs, lines, then words."""
    if len(text) <= limit:
        return [text]
    for separator in ("\n\n", "\n", " "):
        if separator in text:
            pieces: list[str] = []
            current = ""
            for chunk in text.split(separator):
                candidate = f"{current}{separator}{chunk}" if current else chunk
                if len(candidate) <= limit:
                    current = candidate
                    continue
                if current:
                    pieces.append(current)
                current = chunk
            if current:
                pieces.append(current)
            return [small for piece in pieces for small in split_text(piece, limit)]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def card_message(title: str, cards: tuple[ServiceCard, ...]) -> SignalMessage:
    """Service cards as one text: a neutral title, then each service's bold name and its details."""
    out = _Builder()
    if title:
        out.add(title + "\n\n")
    for index, card in enumerate(cards):
        if index:
            out.add("\n\n")
        out.add(card.name, bold=True)
        out.add("\n" + card.about)
        for icon, value in (("☎", card.phone), ("💬", card.text), ("🌐", card.url), ("🕒", card.hours)):
            if value:
                out.add(f"\n{icon} {value}")
    return out.build()


def render_reply(reply: Reply, reply_line: str, footer: str = "") -> tuple[SignalMessage, ...]:
    """Messages for one reply in order; the last one ends with the numbered choices, or with `footer`.

    `reply_line` is the "Reply with a number" text in the user's language; `footer` a line said last
    instead (how to end a chat with staff, where typed numbers would go to staff, not to the menu).
    """
    messages = [SignalMessage(piece) for part in reply.parts for piece in split_text(part)]
    if reply.services:
        messages.append(card_message(reply.services_title, reply.services))
    block = footer
    if reply.buttons:
        choices = "\n".join(f"{number}. {button.label}" for number, button in enumerate(reply.buttons, start=1))
        block = f"{reply_line}\n{choices}"
    if block:
        last = messages[-1] if messages else None
        if last is not None and len(last.text) + len(block) + 2 <= MAX_MESSAGE:
            messages[-1] = SignalMessage(f"{last.text}\n\n{block}", last.spans)
        else:
            messages.append(SignalMessage(block))
    return tuple(messages)


def in_case(reply: Reply) -> bool:
    """Whether a reply is said during a chat with staff (it carries the End chat button)."""
    return any(button.node == HANDOFF_NODE for button in reply.buttons)


def swap(
    flows: FlowSet, reply: Reply, locale: str, engine_key: str, signal_key: str, only_if_said: bool = False
) -> Reply:
    """The reply with the engine's generic text replaced by what is true on Signal (or led by it)."""
    generic, honest = message_text(flows, engine_key, locale), message_text(flows, signal_key, locale)
    if generic in reply.parts:
        return replace(reply, parts=tuple(honest if part == generic else part for part in reply.parts))
    return reply if only_if_said else replace(reply, parts=(honest, *reply.parts))


def signal_reply(flows: FlowSet, reply: Reply, locale: str, notes: tuple[str, ...] = ()) -> tuple[SignalMessage, ...]:
    """A reply as a Signal user reads it, `notes` first: the transport and the console's Signal style both
    show this, so staff trying the console see what Signal users see.

    Texts about tapping are said in Signal's words. A reply with the End chat button is said during a chat
    with staff, where anything typed goes to them: its choices are not numbered (a typed number would reach
    staff), and it ends by telling the user to send /end (after any service cards, the last thing they read).
    """
    for engine_key, signal_key in BUTTONLESS:
        reply = swap(flows, reply, locale, engine_key, signal_key, only_if_said=True)
    if notes:
        reply = replace(reply, parts=(*notes, *reply.parts))
    footer = ""
    if in_case(reply):
        still = message_text(flows, "handoff_still_open", locale)
        if still in reply.parts:
            footer = message_text(flows, "signal_handoff_still_open", locale)
            reply = replace(reply, parts=tuple(part for part in reply.parts if part != still))
        else:
            footer = message_text(flows, "signal_end_hint", locale)
        reply = replace(reply, buttons=())
    return render_reply(reply, message_text(flows, "signal_reply_number", locale), footer)


def ansi(message: SignalMessage) -> str:
    """The message for a terminal, bold spans in ANSI bold (the console's Signal style)."""
    units = message.text.encode("utf-16-le")
    out, at = [], 0
    for span in sorted(message.spans, key=lambda s: s.start):
        out.append(units[at * 2 : span.start * 2].decode("utf-16-le"))
        out.append("\x1b[1m" + units[span.start * 2 : (span.start + span.length) * 2].decode("utf-16-le") + "\x1b[0m")
        at = span.start + span.length
    out.append(units[at * 2 :].decode("utf-16-le"))
    return "".join(out)
