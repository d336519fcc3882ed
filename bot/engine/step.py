"""The flow engine: `step(flows, state, inbound, now) -> Outcome`. Pure: no I/O, no clock, no Telegram.

Every step yields exactly one reply (one or more message parts, buttons, service cards) plus the
effects a transport must carry out (handoff, forget, clear chat, locale change) and anonymous
events for the daily counters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.engine.actions import command
from bot.engine.context import STAFF_UNKNOWN, StepContext
from bot.engine.navigation import recover
from bot.engine.picks import pick
from bot.engine.typed import follow_trigger, text
from bot.engine.types import IDENTIFYING_MEDIA, Command, Inbound, Media, Outcome, Pick, Reply, Staff, State, Text
from bot.flows import FlowSet
from bot.flows.textmatch import normalise
from bot.vocabulary import PSEUDO_NODES


def step(flows: FlowSet, state: State, inbound: Inbound, now: datetime, staff: Staff = STAFF_UNKNOWN) -> Outcome:
    """Advance one user's conversation by one input; `staff` says whether a person can answer now."""
    turn = StepContext(flows, state, now, staff)
    if turn.state.node is None:
        turn.events.append(("conversation", "started"))
        turn.events.append(("language", turn.locale))
    elif turn.state.node not in PSEUDO_NODES and turn.current() is None:
        # The flows changed under this user (a live reload): the nearest menu that still exists.
        recover(turn)
        if isinstance(inbound, Pick | Text):
            # Pressed or typed for the vanished menu, so it means nothing here; trigger words still
            # count, and are answered as they are, without a note about menus.
            said = normalise(inbound.text) if isinstance(inbound, Text) else ""
            reply = follow_trigger(turn, said)
            if reply is None:
                turn.notes.append(turn.message("menu_changed"))
                reply = turn.reshow_notes()
            return turn.outcome(reply)
        turn.notes.append(turn.message("menu_changed"))
    if isinstance(inbound, Command):
        return turn.outcome(command(turn, inbound))
    if isinstance(inbound, Pick):
        return turn.outcome(pick(turn, inbound))
    if isinstance(inbound, Media):
        return turn.outcome(_media(turn, inbound.kind))
    return turn.outcome(text(turn, inbound.text))


def start_state(flows: FlowSet, locale: str | None) -> State:
    """The state of a user who has not started yet, in `locale` if it is offered."""
    offered = flows.settings.languages
    return State(locale=locale if locale in offered else flows.settings.default_language)


def _media(turn: StepContext, kind: str) -> Reply:
    """A photo, file, sticker and the like: never read; a note says why, and the choices come again."""
    if turn.state.node is None:
        turn.state = replace(turn.state, node=turn.settings.start)
        turn.events.append(("node", turn.settings.start))
    key = "identity_warning" if kind in IDENTIFYING_MEDIA else "media_not_supported"
    return turn.reshow(turn.message(key))
