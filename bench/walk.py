"""The simulated user's walk, worked out from the loaded flows so it survives edits to their wording.

start, three button presses (a menu, its first topic, that topic's first way on), a trigger word
typed as free text, then /back. Buttons are named by their position among a keyboard's callback
buttons, which both bots lay out in the order the YAML lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.flows import FlowSet, Node, Trigger

# The flows the baseline also implements; the walk never leaves them.
WALK_FLOWS = ("main", "testing", "advice")

StepKind = Literal["command", "press", "text"]


class WalkError(Exception):
    """The flows offer no walk the benchmark can take; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Step:
    """One user input: a command name, a callback-button position, or typed text."""

    kind: StepKind
    command: str = ""
    position: int = 0
    text: str = ""


@dataclass(frozen=True, slots=True)
class Walk:
    """The inputs of one simulated user, in order, and the nodes the three presses reach."""

    steps: tuple[Step, ...]
    visits: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.steps)


def _in_walk(flows: FlowSet, node_id: str | None) -> bool:
    if node_id is None or node_id not in flows.nodes:
        return False
    name = node_id.split(".", 1)[0]
    flow = flows.flows.get(name)
    return name in WALK_FLOWS and not flows.nodes[node_id].on_request and not (flow is not None and flow.on_request)


def _onward(flows: FlowSet, node: Node) -> tuple[int, str]:
    """The first callback position in `node` that goes to another node of the walk's flows."""
    for position, choice in enumerate(node.choices):
        if _in_walk(flows, choice.goto) and choice.goto != node.id:
            return position, str(choice.goto)
    if node.next and _in_walk(flows, node.next):
        return len(node.choices), node.next  # the 'next' button follows the choices
    raise WalkError(f"node {node.id} has no button to another node of {', '.join(WALK_FLOWS)}")


def trigger_word(flows: FlowSet) -> tuple[Trigger, str]:
    """The lowest-priority trigger that goes to a node of the walk, and its first English keyword."""
    for trigger in reversed(flows.triggers):
        words = trigger.keywords.get(flows.settings.default_language) or trigger.keywords.get("en") or ()
        if _in_walk(flows, trigger.goto) and words:
            return trigger, words[0]
    raise WalkError("flows/triggers.yaml has no trigger with a keyword that goes to the walk's flows")


def plan(flows: FlowSet) -> Walk:
    """start, three presses, a trigger word, /back."""
    node = flows.nodes[flows.settings.start]
    steps = [Step("command", command="start")]
    visits = [node.id]
    for _ in range(3):
        position, target = _onward(flows, node)
        steps.append(Step("press", position=position))
        node = flows.nodes[target]
        visits.append(node.id)
    _, word = trigger_word(flows)
    steps += [Step("text", text=word), Step("command", command="back")]
    return Walk(tuple(steps), tuple(visits))
