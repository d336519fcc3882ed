"""What comes in from Signal: a data message read as the engine's input, the window that drops repeated
envelopes, and choices offered outside the engine that a typed answer picks. All in memory only."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bot.engine import Button, Command, Inbound, Media, Pick, Text
from bot.flows.textmatch import normalise
from bot.vocabulary import parse_slash

SEEN_WINDOW = 10_000  # (user, device, timestamp) triples remembered to drop repeated envelopes
OFFERED = 1_000  # users whose last handoff message offered choices (kept in memory, one answer each)


def inbound_for(data: dict[str, Any]) -> Inbound | None:
    """What a data message means to the engine, or None for one with nothing to answer."""
    if data.get("contacts"):
        return Media("contact")
    attachments = data.get("attachments")
    if attachments:
        first = attachments[0] if isinstance(attachments, list) and isinstance(attachments[0], dict) else {}
        kind = str(first.get("contentType") or "").split("/", 1)[0]
        return Media({"image": "photo", "audio": "voice", "video": "video"}.get(kind, "document"))
    if data.get("sticker"):
        return Media("sticker")
    if data.get("pollCreate") or data.get("pollVote"):
        return Media("poll")
    if data.get("payment"):
        return Media("other")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return None
    slash = parse_slash(text)
    return Command(slash.name, slash.arg) if slash else Text(text.strip())


@dataclass
class SeenWindow:
    """The last `size` message identities, so a repeated envelope is not handled twice."""

    size: int = SEEN_WINDOW
    _seen: OrderedDict[tuple[object, ...], None] = field(default_factory=OrderedDict)

    def first_time(self, identity: tuple[object, ...]) -> bool:
        """Remember `identity`; False if it was seen already."""
        if identity in self._seen:
            return False
        self._seen[identity] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


@dataclass
class OfferedChoices:
    """The choices of a message sent outside the engine (a case's closing), per user, for one answer."""

    size: int = OFFERED
    _offered: OrderedDict[bytes, tuple[Button, ...]] = field(default_factory=OrderedDict)

    def offer(self, key: bytes, buttons: tuple[Button, ...]) -> None:
        """Remember the choices, so a typed number or label picks one as a button press would on Telegram."""
        self._offered.pop(key, None)
        if buttons:
            self._offered[key] = buttons
            while len(self._offered) > self.size:
                self._offered.popitem(last=False)

    def picked(self, key: bytes, inbound: Inbound) -> Inbound:
        """The user's answer to the choices, as the press it stands for; the offer lasts for one message."""
        buttons = self._offered.pop(key, ())
        if not buttons or not isinstance(inbound, Text):
            return inbound
        said = normalise(inbound.text)
        for number, button in enumerate(buttons, start=1):
            if said in (str(number), normalise(button.label)):
                return Pick(button.node, button.action)
        return inbound
