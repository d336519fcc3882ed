"""The words the bot and its transports share: slash commands, trigger ids, pseudo-nodes, button actions.

Each is written once here; the engine, the transports and the handoff read them from this module.
Button actions travel as short strings (Telegram callback data, the engine's `Pick`); their grammar
is the codec at the bottom, so old buttons still in people's chats keep meaning what they said.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- slash commands --------------------------------------------------------------------------------

# The user's commands, in the order the messenger's command menu shows them. Each has a
# `command_<name>` description in flows/messages.yaml.
MENU_COMMANDS = ("start", "menu", "back", "language", "human", "help", "forget", "clear")
COMMANDS = frozenset(MENU_COMMANDS)  # every command the engine answers
END_COMMAND = "end"  # closes a chat with staff; answered by the handoff, not the engine
# Staff commands in a case topic, and in the staff group's main thread.
CASE_COMMANDS = ("claim", "alias", "release", "close")
GROUP_COMMANDS = ("queue", "stats", "reload", "id")


@dataclass(frozen=True, slots=True)
class Slash:
    """A parsed `/name@bot arg`: `name` in lower case without slash or addressee."""

    name: str
    arg: str = ""
    addressee: str = ""  # the bot named after `@`, as written, or ""


def parse_slash(text: str) -> Slash | None:
    """The command in `text`, or None when it is not one (no leading slash, or a bare `/`)."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) == 1:
        return None
    word, _, arg = stripped[1:].partition(" ")
    name, _, addressee = word.partition("@")
    return Slash(name.lower(), arg.strip(), addressee)


def command_key(name: str) -> str:
    """The messages.yaml key describing command `name` in the command menu."""
    return f"command_{name}"


# -- trigger ids -----------------------------------------------------------------------------------

CRISIS_TRIGGER = "crisis"  # answered before anything else, even mid-handoff; nothing is asked before its pages
FORGET_TRIGGER = "forget"  # deletes the user's data, even mid-handoff
# Triggers that, as a first message, get the welcome rather than their own short page.
FIRST_CONTACT_WELCOME = frozenset({"greeting", "thanks"})

# What a choice or trigger may `do` in flows/*.yaml instead of going to a node.
FLOW_ACTIONS = frozenset({"handoff", "forget", "clear_chat", "language", "nation", "restart"})

# -- pseudo-nodes: places a button can come from that are not in the flows ('@' is never in a flow id) --

LANGUAGE_MENU = "@language"  # the language picker
NATION_MENU = "@nation"  # "where in the UK are you?"
CHAT_FEEDBACK = "@chat"  # the "Did this help?" buttons after a chat with staff
HANDOFF_NODE = "@handoff"  # the End chat button during a chat with staff
PSEUDO_NODES = (LANGUAGE_MENU, NATION_MENU, CHAT_FEEDBACK, HANDOFF_NODE)

# -- button actions --------------------------------------------------------------------------------

FEEDBACK_ANSWERS = ("yes", "no", "missing")


@dataclass(frozen=True, slots=True)
class ChoiceAction:
    """The node's choice at `index` (`c:3`)."""

    index: int


@dataclass(frozen=True, slots=True)
class NextAction:
    """The node's `next` button (`next`)."""


@dataclass(frozen=True, slots=True)
class MenuAction:
    """Go to the main menu (`menu`)."""


@dataclass(frozen=True, slots=True)
class BackAction:
    """Go back one step (`back`)."""


@dataclass(frozen=True, slots=True)
class EndAction:
    """End the chat with staff (`end`)."""


@dataclass(frozen=True, slots=True)
class LanguageAction:
    """Switch to language `code` (`lang:ro`)."""

    code: str


@dataclass(frozen=True, slots=True)
class NationAction:
    """Answer the nation question: the nation at `index`, or None to skip (`nation:1`, `nation:skip`)."""

    index: int | None


@dataclass(frozen=True, slots=True)
class FeedbackAction:
    """A one-tap "Did this help?" answer (`fb:yes`)."""

    answer: str


Action = (
    ChoiceAction | NextAction | MenuAction | BackAction | EndAction | LanguageAction | NationAction | FeedbackAction
)

_BARE: dict[str, Action] = {"next": NextAction(), "menu": MenuAction(), "back": BackAction(), "end": EndAction()}
_MAX_CHOICE_DIGITS = 3
_LANGUAGE_CODE = range(2, 13)  # lengths of a language code such as `ro` or `zh_Hans`
_FEEDBACK_WORD = range(2, 9)


def encode_action(action: Action) -> str:
    """The action as it travels in a button: `c:3`, `next`, `lang:ro`, `nation:skip`, `fb:yes`…"""
    match action:
        case ChoiceAction(index):
            return f"c:{index}"
        case LanguageAction(code):
            return f"lang:{code}"
        case NationAction(index):
            return f"nation:{'skip' if index is None else index}"
        case FeedbackAction(answer):
            return f"fb:{answer}"
        case NextAction():
            return "next"
        case MenuAction():
            return "menu"
        case BackAction():
            return "back"
        case EndAction():
            return "end"
    raise TypeError(f"not an action: {action!r}")


def decode_action(text: str) -> Action | None:
    """The action a button's string stands for, or None when it is not one (forged, or another format)."""
    bare = _BARE.get(text)
    if bare is not None:
        return bare
    kind, colon, value = text.partition(":")
    if not colon:
        return None
    if kind == "c" and _ascii_digits(value) and len(value) <= _MAX_CHOICE_DIGITS:
        return ChoiceAction(int(value))
    if kind == "lang" and len(value) in _LANGUAGE_CODE and all(ch == "_" or _ascii_letter(ch) for ch in value):
        return LanguageAction(value)
    if kind == "nation" and value == "skip":
        return NationAction(None)
    if kind == "nation" and _ascii_digits(value) and len(value) == 1:
        return NationAction(int(value))
    if kind == "fb" and len(value) in _FEEDBACK_WORD and all("a" <= ch <= "z" for ch in value):
        return FeedbackAction(value)
    return None


def _ascii_digits(text: str) -> bool:
    # str.isdigit() also takes "²" and other digits that int() refuses.
    return bool(text) and text.isascii() and text.isdigit()


def _ascii_letter(ch: str) -> bool:
    return "a" <= ch <= "z" or "A" <= ch <= "Z"
