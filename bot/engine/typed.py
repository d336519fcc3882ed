"""What typed words mean: an answer to the question on screen (a button's label or number), a trigger
word, or a miss; identifying details are never needed, and the reply says so."""

from __future__ import annotations

from dataclasses import replace

from bot.engine.actions import do
from bot.engine.context import StepContext
from bot.engine.navigation import enter, restart, set_language, skip_nation
from bot.engine.picks import pick
from bot.engine.types import Pick, Reply
from bot.flows.textmatch import fold_case, normalise
from bot.privacy.identifying import looks_identifying
from bot.vocabulary import FIRST_CONTACT_WELCOME, LANGUAGE_MENU, NATION_MENU

MISSES_BEFORE_MENU = 2


def text(turn: StepContext, raw: str) -> Reply:
    """A typed message."""
    said = normalise(raw)
    if looks_identifying(raw):
        # Nothing typed is kept anyway; the note tells them so, and words like "attacked" still count.
        turn.events.append(("discretion", "details"))
        turn.notes.append(turn.message("details_not_needed"))
        followed = follow_trigger(turn, said, raw)
        return followed or (restart(turn) if turn.state.node is None else turn.reshow_notes())
    answered = _typed_answer(turn, said)
    if answered is not None:
        return answered
    reply = follow_trigger(turn, said, raw)
    if reply is not None:
        return reply
    if turn.state.node is None:
        return restart(turn)
    return _miss(turn)


def _typed_answer(turn: StepContext, said: str) -> Reply | None:
    """Typed words that answer the question on screen (a button's label or number), if they do."""
    if turn.state.node == LANGUAGE_MENU:
        for number, button in enumerate(turn.pages.language_buttons(), start=1):
            code = turn.settings.languages[number - 1]
            if said in (str(number), normalise(button.label), normalise(code)):
                return set_language(turn, code)
        return None
    if turn.state.node == NATION_MENU:
        for number, button in enumerate(turn.pages.nation_buttons(), start=1):
            if said and said in (str(number), normalise(button.label)):
                return pick(turn, Pick(NATION_MENU, button.action))
        skip_nation(turn)
    node = turn.current()
    typed = turn.pages.view(node).by_text.get(said) if node is not None and said else None
    return pick(turn, Pick(typed.node, typed.action)) if typed is not None else None


def _miss(turn: StepContext) -> Reply:
    """Not understood: a gentle retry, and after two in a row the main menu and a person."""
    misses = turn.state.misses + 1
    if misses >= MISSES_BEFORE_MENU:
        # One message, as a miss always is: the menu's buttons (Talk to a person among them) under the note.
        turn.state = replace(turn.state, misses=0)
        menu = enter(turn, turn.settings.menu)
        return Reply((*turn.notes, turn.message("not_understood_again")), menu.buttons)
    turn.missed = True
    turn.state = replace(turn.state, misses=misses)
    return turn.reshow(turn.message("not_understood"))


def follow_trigger(turn: StepContext, said: str, raw: str = "") -> Reply | None:
    """The reply of the highest-priority trigger in the text, if any."""
    marked = fold_case(raw) if raw else said
    trigger = turn.flows.trigger_index.first_match(turn.locale, said, marked) if said else None
    if trigger is None:
        return None
    turn.events.append(("trigger", trigger.id))
    if turn.state.node is None and trigger.id in FIRST_CONTACT_WELCOME:
        # A first "hi" deserves the welcome, which says what the bot is and what it keeps.
        return restart(turn)
    if trigger.goto:
        return enter(turn, trigger.goto)
    return do(turn, trigger.do or "restart")
