"""Rules across files: entry points exist, support on request is never offered unasked, every node is reachable."""

from __future__ import annotations

from bot.flows.checker import Checker
from bot.flows.model import Node, Trigger
from bot.flows.problems import suggest

ON_REQUEST_FIX = (
    "a wish to exit is never assumed: reach it only from a choice the user picks (not the first menu) or a trigger"
)


def check_entry_points(ck: Checker) -> None:
    """`start` and `menu` in settings.yaml name nodes."""
    file = str(ck.dir / "settings.yaml")
    for key in ("start", "menu"):
        target = getattr(ck.settings, key)
        if ck.flows and target not in ck.raw_nodes and not ck.in_unreadable(target):
            ck.error(
                file, ck.settings_lines.get(key, 1), "", f"`{key}: {target}` is not a node", ck.ref_fix("", target)
            )


def check_waiting_services(ck: Checker) -> None:
    """`waiting_services` in settings.yaml name services."""
    file = str(ck.dir / "settings.yaml")
    for sid in ck.settings.waiting_services:
        if sid not in ck.services:
            line = ck.settings_lines.get("waiting_services", 1)
            ck.error(file, line, "", f"unknown service `{sid}` in waiting_services", suggest(sid, ck.services))


def check_on_request(ck: Checker) -> None:
    """A node marked on_request may only be entered by the user's own choice or words."""
    for node in _first_menu(ck):
        raw = ck.raw_nodes[node.id]
        for choice in node.choices:
            if choice.goto and ck.nodes.get(choice.goto, node).on_request:
                ck.error(
                    raw.file, raw.line, node.id, f"the first menu offers on_request node {choice.goto}", ON_REQUEST_FIX
                )
    for node in ck.nodes.values():
        if node.next and not node.on_request and ck.nodes.get(node.next, node).on_request:
            raw = ck.raw_nodes[node.id]
            ck.error(
                raw.file,
                raw.data.line_of("next"),
                node.id,
                f"`next` leads into on_request node {node.next}",
                ON_REQUEST_FIX,
            )


def _first_menu(ck: Checker) -> list[Node]:
    """The start and menu nodes and the nodes they lead to by `next`; reports an entry point on request."""
    settings_file = str(ck.dir / "settings.yaml")
    first_menu = []
    for key in ("start", "menu"):
        node_id = getattr(ck.settings, key)
        node = ck.nodes.get(node_id)
        if node is None:
            continue
        if node.on_request:
            ck.error(
                settings_file,
                ck.settings_lines.get(key, 1),
                "",
                f"`{key}` is {node_id}, which is on_request",
                ON_REQUEST_FIX,
            )
        first_menu.append(node)
        if node.next and node.next in ck.nodes:
            first_menu.append(ck.nodes[node.next])
    return first_menu


def check_reachability(ck: Checker, triggers: tuple[Trigger, ...]) -> None:
    """Warn about nodes no choice, `next` or trigger leads to."""
    if not ck.nodes or ck.settings.start not in ck.nodes:
        return
    seen = _reachable(ck, triggers)
    for node_id, raw in ck.raw_nodes.items():
        if node_id in ck.nodes and node_id not in seen:
            ck.warn(
                raw.file,
                raw.line,
                node_id,
                "no choice, `next` or trigger leads here",
                "link to it from a menu, or delete it",
            )


def _reachable(ck: Checker, triggers: tuple[Trigger, ...]) -> set[str]:
    roots = [ck.settings.start, ck.settings.menu] + [t.goto for t in triggers if t.goto]
    seen: set[str] = set()
    todo = [r for r in roots if r in ck.nodes]
    while todo:
        node_id = todo.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        node = ck.nodes[node_id]
        targets = [c.goto for c in node.choices if c.goto]
        if any(c.do == "restart" for c in node.choices):
            targets.append(ck.settings.start)
        if node.next:
            targets.append(node.next)
        todo.extend(t for t in targets if t and t not in seen)
    return seen
