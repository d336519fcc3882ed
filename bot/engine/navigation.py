"""Moving between pages: entering a node on the bounded back-stack, going back, restarting, recovering
from a live reload, and the two questions asked outside the flows (language, nation)."""

from __future__ import annotations

from dataclasses import replace

from bot.engine.context import StepContext
from bot.engine.pages import NATIONS
from bot.engine.types import Reply, SetLocale
from bot.flows import Node
from bot.vocabulary import CRISIS_TRIGGER, LANGUAGE_MENU, NATION_MENU, PSEUDO_NODES

SKIPPED = ""  # the nation question was answered with Skip: asked once, never again


def enter(turn: StepContext, node_id: str, *, remember: bool = True) -> Reply:
    """Go to a node, keeping where we were on the bounded back-stack."""
    previous = turn.state.node
    back = turn.state.back
    if remember and previous and previous != node_id and previous not in PSEUDO_NODES:
        back = (*back, previous)[-turn.settings.back_depth :]
    node = turn.flows.nodes[node_id]
    if _should_ask_nation(turn, node):
        # Ask once, before the first page whose services differ by nation; the page follows the answer.
        turn.state = replace(turn.state, node=NATION_MENU, back=(*back, node_id)[-turn.settings.back_depth :])
        return Reply((*turn.notes, turn.message("nation_prompt")), turn.pages.nation_buttons())
    turn.state = replace(turn.state, node=node_id, back=back)
    turn.events.append(("node", node_id))
    return turn.render(node)


def _should_ask_nation(turn: StepContext, node: Node) -> bool:
    if turn.state.nation is not None or node.urgent or node.flow in _crisis_flows(turn):
        return False
    services = (turn.flows.services[sid] for sid in node.services)
    return any(s.regions and set(NATIONS) - set(s.regions) for s in services)


def _crisis_flows(turn: StepContext) -> set[str]:
    """Flows the crisis trigger leads into: nothing is ever asked before them."""
    return {t.goto.split(".", 1)[0] for t in turn.flows.triggers if t.id == CRISIS_TRIGGER and t.goto}


def restart(turn: StepContext) -> Reply:
    turn.state = replace(turn.state, back=())
    return enter(turn, turn.settings.start, remember=False)


def go_back(turn: StepContext) -> Reply:
    back = list(turn.state.back)
    while back:
        target = back.pop()
        if target in turn.flows.nodes and target != turn.state.node:
            turn.state = replace(turn.state, back=tuple(back))
            return enter(turn, target, remember=False)
    turn.state = replace(turn.state, back=())
    return enter(turn, turn.settings.menu, remember=False)


def stale(turn: StepContext) -> Reply:
    """A button or answer that means nothing any more: say the menu changed and offer it again."""
    if turn.state.node is None:
        turn.notes.append(turn.message("menu_changed"))
        return restart(turn)
    return turn.reshow(turn.message("menu_changed"))


def recover(turn: StepContext) -> None:
    """Move a user whose node vanished to its flow's start, else the newest step back, else the menu."""
    back = [node for node in turn.state.back if node in turn.flows.nodes]
    flow = turn.flows.flows.get((turn.state.node or "").split(".", 1)[0])
    if flow is not None and flow.start in turn.flows.nodes:
        target = flow.start
    else:
        target = back[-1] if back else turn.settings.menu
    if back and back[-1] == target:
        back.pop()
    turn.state = replace(turn.state, node=target, back=tuple(back))


# -- the questions asked outside the flows ----------------------------------------------------------


def _leave_picker(turn: StepContext) -> Reply:
    back = list(turn.state.back)
    target = back.pop() if back else turn.settings.menu
    if target not in turn.flows.nodes:
        target = turn.settings.menu
    turn.state = replace(turn.state, node=None, back=tuple(back))
    return enter(turn, target, remember=False)


def show_languages(turn: StepContext) -> Reply:
    if turn.state.node != LANGUAGE_MENU:
        back, here = turn.state.back, turn.state.node
        if here is not None and here in turn.flows.nodes:
            back = (*back, here)[-turn.settings.back_depth :]
        turn.state = replace(turn.state, node=LANGUAGE_MENU, back=back)
    return Reply((*turn.notes, turn.message("language_prompt")), turn.pages.language_buttons())


def set_language(turn: StepContext, code: str) -> Reply:
    turn.locale = code
    turn.state = replace(turn.state, locale=code)
    turn.effects.append(SetLocale(code))
    turn.events.append(("language", code))
    turn.notes.append(turn.message("language_set"))
    return _leave_picker(turn)


def ask_nation(turn: StepContext) -> Reply:
    """The `nation` action: ask again, then come back here."""
    turn.state = replace(turn.state, nation=None)
    back = turn.state.back
    here = turn.state.node
    if here is not None and here in turn.flows.nodes:
        back = (*back, here)[-turn.settings.back_depth :]
    turn.state = replace(turn.state, node=NATION_MENU, back=back)
    return Reply((*turn.notes, turn.message("nation_prompt")), turn.pages.nation_buttons())


def set_nation(turn: StepContext, nation: str) -> Reply:
    """Keep the answer (or the skip) and show the page the question came before."""
    turn.state = replace(turn.state, nation=nation)
    turn.events.append(("nation", nation or "skipped"))
    return _leave_picker(turn)


def skip_nation(turn: StepContext) -> None:
    """Anything but an answer skips the nation question: asked once, it never stands in the way."""
    turn.state = replace(turn.state, nation=SKIPPED)
    turn.events.append(("nation", "skipped"))
    back = list(turn.state.back)
    target = back.pop() if back else turn.settings.menu
    turn.state = replace(
        turn.state, node=target if target in turn.flows.nodes else turn.settings.menu, back=tuple(back)
    )
