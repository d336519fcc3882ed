"""Button presses: a page's choices, Next, Menu and Back, and the buttons of the questions the bot asks
outside the flows (language, nation, "Did this help?")."""

from __future__ import annotations

from bot.engine.actions import do
from bot.engine.context import StepContext
from bot.engine.navigation import SKIPPED, enter, go_back, set_language, set_nation, stale
from bot.engine.pages import NATIONS
from bot.engine.types import Pick, Reply
from bot.flows import Choice
from bot.vocabulary import (
    CHAT_FEEDBACK,
    FEEDBACK_ANSWERS,
    LANGUAGE_MENU,
    NATION_MENU,
    Action,
    BackAction,
    ChoiceAction,
    FeedbackAction,
    LanguageAction,
    MenuAction,
    NationAction,
    NextAction,
    decode_action,
)


def pick(turn: StepContext, pick: Pick) -> Reply:
    """A pressed button (or typed words that stand for one)."""
    action = decode_action(pick.action)
    if pick.node in (LANGUAGE_MENU, NATION_MENU) or isinstance(action, FeedbackAction):
        return _pick_question(turn, pick.node, action)
    node = turn.flows.nodes.get(pick.node)
    if node is None:
        return stale(turn)
    # A button from an older message still means what it said, so it is honoured.
    match action:
        case ChoiceAction(index) if index < len(node.choices):
            return _choose(turn, node.choices[index])
        case NextAction() if node.next:
            return enter(turn, node.next)
        case MenuAction():
            return enter(turn, turn.settings.menu)
        case BackAction():
            return go_back(turn)
    return stale(turn)


def _choose(turn: StepContext, choice: Choice) -> Reply:
    if choice.goto:
        return enter(turn, choice.goto)
    return do(turn, choice.do or "restart")


def _pick_question(turn: StepContext, node_id: str, action: Action | None) -> Reply:
    """A button of a question the bot asks outside the flows: language, nation, "Did this help?"."""
    if node_id == LANGUAGE_MENU:
        if isinstance(action, LanguageAction) and action.code in turn.settings.languages:
            return set_language(turn, action.code)
    elif isinstance(action, FeedbackAction):
        if node_id == CHAT_FEEDBACK or node_id in turn.flows.nodes:
            return _feedback(turn, node_id, action.answer)
    elif isinstance(action, NationAction):
        names = list(NATIONS)
        if action.index is None:
            return set_nation(turn, SKIPPED)
        if action.index < len(names):
            return set_nation(turn, names[action.index])
    return stale(turn)


def _feedback(turn: StepContext, node: str, answer: str) -> Reply:
    """Count a one-tap "Did this help?" answer for the page (or chat); nothing else is kept."""
    if answer not in FEEDBACK_ANSWERS:
        return stale(turn)
    subject = "chat" if node == CHAT_FEEDBACK else node
    turn.events.append(("feedback", f"{subject}:{answer}"))
    key = "feedback_missing_thanks" if answer == "missing" else "feedback_thanks"
    if turn.state.node is None or node == CHAT_FEEDBACK:
        turn.notes.append(turn.message(key))
        return enter(turn, turn.settings.menu, remember=turn.state.node is not None)
    return turn.reshow(turn.message(key))
