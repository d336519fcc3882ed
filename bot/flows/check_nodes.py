"""Flow files (`flows/<flow>.yaml`): the flow's name and start, then each node (step) with its texts,
choices, services and links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.flows.checker import NAME, Checker, RawNode
from bot.flows.model import Choice, Flow, Node
from bot.flows.problems import suggest
from bot.flows.yamlsource import LineDict, LineList

FLOW_KEYS = ("flow", "start", "on_request", "nodes")
NODE_KEYS = ("say", "choices", "services", "next", "next_label", "end", "on_request", "urgent")
CHOICE_KEYS = ("label", "goto", "do")


def parse_flow(ck: Checker, path: Path, doc: Any) -> None:
    """Check a flow file's top level and keep its nodes, unchecked, in `ck.raw_nodes`."""
    file = ck.display(path)
    data = ck.mapping(file, 1, "", doc, path.name)
    if data is None:
        return
    ck.unknown_keys(file, "", data, FLOW_KEYS, "a flow file")
    name = data.get("flow")
    if not isinstance(name, str) or not NAME.match(name):
        ck.error(
            file,
            data.line_of("flow"),
            "",
            "`flow:` name is missing or not a simple name",
            "start the file with e.g. `flow: testing`",
        )
        return
    if name in ck.flows:
        other, other_line = ck.flow_files[name]
        ck.error(
            file,
            data.line_of("flow"),
            name,
            f"flow `{name}` is also defined in {other}:{other_line}",
            "rename one of them",
        )
        return
    on_request = ck.flag(file, name, data, "on_request")
    nodes = ck.mapping(file, data.line_of("nodes"), name, data.get("nodes"), "`nodes`")
    if nodes is None:
        return
    if not nodes:
        ck.error(file, data.line_of("nodes"), name, "the flow has no nodes", "add at least one node under `nodes:`")
        return
    _read_nodes(ck, file, name, nodes, on_request)
    start = data.get("start")
    first = next(iter(nodes))
    if start is None:
        start = first
    if not isinstance(start, str) or start not in nodes:
        ck.error(
            file,
            data.line_of("start"),
            name,
            f"`start: {start}` is not a node of this flow",
            suggest(start, [str(n) for n in nodes]),
        )
        start = first
    ck.flows[name] = Flow(name=name, start=f"{name}.{start}", on_request=on_request)
    ck.flow_files[name] = (file, data.line_of("flow"))


def _read_nodes(ck: Checker, file: str, flow: str, nodes: LineDict, on_request: bool) -> None:
    for node_name, raw in nodes.items():
        line = nodes.line_of(node_name)
        node_id = f"{flow}.{node_name}"
        if not isinstance(node_name, str) or not NAME.match(node_name):
            ck.error(
                file,
                line,
                node_id,
                f"node id `{node_name}` is not a simple name",
                "use lower-case letters, digits and _ (no dots or spaces)",
            )
            continue
        node_data = ck.mapping(file, line, node_id, raw, f"node `{node_name}`")
        if node_data is not None:
            ck.raw_nodes[node_id] = RawNode(node_id, file, line, node_data, on_request)


def build_node(ck: Checker, raw: RawNode) -> None:
    """Check one node whole and keep it in `ck.nodes`."""
    data, file, where = raw.data, raw.file, raw.id
    flow = raw.id.split(".", 1)[0]
    ck.unknown_keys(file, where, data, NODE_KEYS, "a node")
    say = _say(ck, raw)
    has_choices, choices = _choices(ck, file, where, flow, data)
    services = _services(ck, file, where, data)
    nxt = ck.link(file, where, flow, data, "next") if "next" in data else None
    next_label = None
    if "next_label" in data:
        next_label = ck.text(file, data.line_of("next_label"), where, data["next_label"], "`next_label`")
        if "next" not in data:
            ck.error(
                file,
                data.line_of("next_label"),
                where,
                "`next_label` without `next`",
                "add `next:` or remove `next_label`",
            )
    end = ck.flag(file, where, data, "end")
    on_request = ck.flag(file, where, data, "on_request")
    urgent = ck.flag(file, where, data, "urgent")
    if not has_choices and "next" not in data and not end:
        ck.error(
            file,
            raw.line,
            where,
            "the node is a dead end: no `choices`, no `next`",
            "add choices or `next:`, or mark it `end: true`",
        )
    ck.nodes[raw.id] = Node(
        id=raw.id,
        say=say,
        choices=choices,
        services=services,
        next=nxt,
        next_label=next_label,
        end=end,
        on_request=on_request or raw.flow_on_request,
        urgent=urgent,
    )


def _say(ck: Checker, raw: RawNode) -> tuple[str, ...]:
    data, file, where = raw.data, raw.file, raw.id
    say_raw = data.get("say")
    if say_raw is None:
        ck.error(file, raw.line, where, "the node has no `say`", "add `say:` with what the bot should tell the user")
        return ()
    if not isinstance(say_raw, LineList):
        text = ck.text(file, data.line_of("say"), where, say_raw, "`say`")
        return (text,) if text else ()
    if not say_raw:
        ck.error(file, data.line_of("say"), where, "`say` is an empty list", "write at least one message")
    texts = (ck.text(file, say_raw.line_of(i), where, item, "`say` message") for i, item in enumerate(say_raw))
    return tuple(text for text in texts if text)


def _choices(ck: Checker, file: str, where: str, flow: str, data: LineDict) -> tuple[bool, tuple[Choice, ...]]:
    """Whether the node lists choices at all, and the valid ones."""
    raw_choices = data.get("choices", [])
    if raw_choices is None or not isinstance(raw_choices, list):
        ck.error(
            file, data.line_of("choices"), where, "`choices` should be a list", "start each choice with `- label: ...`"
        )
        return False, ()
    choices: list[Choice] = []
    for i, item in enumerate(raw_choices):
        line = raw_choices.line_of(i) if isinstance(raw_choices, LineList) else data.line_of("choices")
        choice = ck.mapping(file, line, where, item, "a choice")
        if choice is None:
            continue
        ck.unknown_keys(file, where, choice, CHOICE_KEYS, "a choice")
        label = ck.text(file, choice.line_of("label"), where, choice.get("label"), "choice `label`")
        goto, do = ck.target(file, line, where, flow, choice, "a choice")
        if label and (goto or do):
            choices.append(Choice(label=label, goto=goto, do=do))
    return bool(raw_choices), tuple(choices)


def _services(ck: Checker, file: str, where: str, data: LineDict) -> tuple[str, ...]:
    services = data.get("services", [])
    if not isinstance(services, list):
        ck.error(
            file,
            data.line_of("services"),
            where,
            "`services` should be a list of ids",
            "e.g. [sexual_health_clinic, nhs_111]",
        )
        return ()
    for i, sid in enumerate(services):
        if sid not in ck.services:
            line = services.line_of(i) if isinstance(services, LineList) else data.line_of("services")
            ck.error(
                file,
                line,
                where,
                f"unknown service `{sid}`",
                suggest(sid, ck.services) + " (services are listed in services.yaml)",
            )
    return tuple(s for s in services if isinstance(s, str))
