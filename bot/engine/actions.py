"""What a slash-command, or a button's or trigger's `do`, asks for: the moves they share, and the actions
whose effects a transport carries out (handoff to a person, forget, clear chat)."""

from __future__ import annotations

from types import MappingProxyType

from bot.engine.context import StepContext
from bot.engine.navigation import ask_nation, enter, go_back, restart, show_languages
from bot.engine.types import Button, ClearChat, Command, Forget, Handoff, Reply, State
from bot.vocabulary import COMMANDS, MenuAction, encode_action

# Commands that ask for what a button's or trigger's `do` can: handled by `do`, so both stay one thing.
COMMAND_ACTIONS = MappingProxyType(
    {"language": "language", "forget": "forget", "human": "handoff", "clear": "clear_chat"}
)


def command(turn: StepContext, command: Command) -> Reply:
    """A slash-command; an unknown one before the conversation started starts it."""
    name = command.name.lower()
    if name == "start" or (turn.state.node is None and name not in COMMANDS):
        return restart(turn)
    if name == "menu":
        return enter(turn, turn.settings.menu)
    if name == "back":
        return go_back(turn)
    action = COMMAND_ACTIONS.get(name)
    if action is not None:
        return do(turn, action)
    if name == "help":
        return turn.reshow(turn.message("help"))
    if turn.state.node is None:
        return restart(turn)
    return turn.reshow(turn.message("not_understood"))


def do(turn: StepContext, action: str) -> Reply:
    """A `do` of a choice or trigger; anything unknown restarts."""
    if action == "handoff":
        return handoff(turn)
    if action == "forget":
        return forget(turn)
    if action == "clear_chat":
        return clear(turn)
    if action == "language":
        return show_languages(turn)
    if action == "nation":
        return ask_nation(turn)
    return restart(turn)


def handoff(turn: StepContext) -> Reply:
    path = tuple(n for n in (*turn.state.back, turn.state.node) if n and n in turn.flows.nodes)
    turn.effects.append(Handoff(path))
    turn.events.append(("handoff", "requested"))
    return turn.reshow(turn.message("handoff_requested"))


def forget(turn: StepContext) -> Reply:
    turn.effects.append(Forget())
    turn.events.append(("forget", "done"))
    turn.state = State(locale=turn.locale, day=turn.state.day)
    menu = turn.flows.nodes[turn.settings.menu]
    to_menu = Button(turn.message("button_menu"), menu.id, encode_action(MenuAction()))
    return Reply((turn.message("forgotten"),), (to_menu,))


def clear(turn: StepContext) -> Reply:
    turn.effects.append(ClearChat())
    turn.events.append(("clear", "done"))
    return turn.reshow(turn.message("cleared"))
