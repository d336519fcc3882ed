"""What the engine takes and gives: a user's State, the Inbound kinds, and the Outcome of one step.

Plain frozen data, no behaviour: transports build Inbounds and read Outcomes; the store keeps States.
A Button's and a Pick's `action` is the wire string of bot.vocabulary's action codec.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- state and input ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    """All the engine remembers of a user: where they are, their language, a short way back."""

    node: str | None = None  # None: a conversation not yet started
    locale: str | None = None
    back: tuple[str, ...] = ()
    day: int = 0  # last-seen day as a date ordinal; nothing finer is kept
    nation: str | None = None  # one of NATIONS, SKIPPED, or None when never asked
    misses: int = 0  # typed messages not understood in a row


@dataclass(frozen=True, slots=True)
class Staff:
    """Whether a person can answer now, as the runtime knows it; the engine never reads a clock for it.

    `status` is "in", "out" (then `back` says when, already worded for the user) or "unknown".
    """

    status: str = "unknown"
    back: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    """Free text the user typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Pick:
    """A button press: the node whose message carried the button, and the button's action."""

    node: str
    action: str


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command such as `/start`, without the slash."""

    name: str
    arg: str = ""


@dataclass(frozen=True, slots=True)
class Media:
    """Something that is not text: `kind` is photo, voice, video, sticker, document, location, contact…"""

    kind: str


IDENTIFYING_MEDIA = frozenset({"location", "contact", "venue"})

Inbound = Text | Pick | Command | Media


# -- output ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """A choice to show; pressing it comes back as `Pick(node, action)`."""

    label: str
    node: str
    action: str


@dataclass(frozen=True, slots=True)
class ServiceCard:
    """A service, with its texts in the user's language."""

    id: str
    name: str
    about: str
    phone: str | None
    text: str | None
    url: str | None
    hours: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says: message parts in order, then buttons and service cards."""

    parts: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    services: tuple[ServiceCard, ...] = ()
    # A neutral line shown above the cards, so a lock-screen preview of them gives nothing away.
    services_title: str = ""
    # An urgent page (crisis, PEP): its choices, a person first, are shown before the services' links.
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class Handoff:
    """The user asked for a person; `path` is the nodes they came through, oldest first."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Forget:
    """Delete everything kept about this user."""


@dataclass(frozen=True, slots=True)
class ClearChat:
    """Delete this conversation's messages where the messenger allows."""


@dataclass(frozen=True, slots=True)
class SetLocale:
    """The user chose a language."""

    locale: str


Effect = Handoff | Forget | ClearChat | SetLocale


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one step."""

    state: State
    reply: Reply
    effects: tuple[Effect, ...] = ()
    events: tuple[tuple[str, str], ...] = ()
