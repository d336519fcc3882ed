"""The flows as a Mermaid flowchart: nodes, choices as labelled edges, `next`, triggers and actions.

Pure: a FlowSet in, Mermaid text out. Labels are quoted and every character Mermaid could read as
syntax is written as an entity code, so any flow text renders on any Mermaid viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.flows.model import FlowSet, Node, Trigger
from bot.vocabulary import CRISIS_TRIGGER

LABEL_MAX = 60  # characters of a node's first line shown in its box
KEYWORDS_SHOWN = 4

# Mermaid entity codes (`#name;` or `#number;`): '#' first, so the codes themselves are not re-escaped.
_ENTITIES = {
    ord("#"): "#35;",
    ord('"'): "#quot;",
    ord("<"): "#lt;",
    ord(">"): "#gt;",
    ord("&"): "#amp;",
    ord("`"): "#96;",
    ord("|"): "#124;",
}

CLASS_DEFS = {
    "crisis": "fill:#fde2e2,stroke:#c0392b,stroke-width:2px,color:#000",
    "onRequest": "fill:#ece3f7,stroke:#6c3483,stroke-width:2px,color:#000",
    "trigger": "fill:#fff4cc,stroke:#b7950b,color:#000",
    "action": "fill:#e3f0fb,stroke:#2471a3,color:#000",
    "external": "fill:#f4f4f4,stroke:#888,stroke-dasharray:4 3,color:#333",
    "entry": "fill:#e6f5e6,stroke:#1e8449,color:#000",
}


def escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: one line, no character Mermaid treats as syntax."""
    return " ".join(text.split()).translate(_ENTITIES)


def shorten(text: str, limit: int = LABEL_MAX) -> str:
    """The first line of `text`, cut at a word boundary with an ellipsis when longer than `limit`."""
    first = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    if first[limit - 1] != " ":  # the cut fell inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0] or cut
    return cut.rstrip(" ,.;:") + "…"


def node_id(node: str) -> str:
    """A Mermaid id for `flow.node`; the prefix keeps ids clear of keywords like `end` and of `o`/`x` arrows."""
    return "n_" + node.replace(".", "__")


@dataclass
class _Graph:
    """Collects declarations, edges and class assignments in order, declaring each id once."""

    lines: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    declared: set[str] = field(default_factory=set)
    classes: dict[str, list[str]] = field(default_factory=dict)

    def declare(self, ident: str, shape: str, label: str, css: str | None) -> str:
        if ident not in self.declared:
            self.declared.add(ident)
            opening, closing = shape.split("…")
            self.lines.append(f'    {ident}{opening}"{label}"{closing}')
            if css:
                self.classes.setdefault(css, []).append(ident)
        return ident

    def edge(self, source: str, arrow: str, target: str, label: str | None = None) -> None:
        text = f'|"{escape(label)}"|' if label else ""
        self.edges.append(f"    {source} {arrow}{text} {target}")

    def render(self) -> str:
        out = ["flowchart TD", *self.lines, *self.edges]
        for name, style in CLASS_DEFS.items():
            out.append(f"    classDef {name} {style}")
        for name, members in self.classes.items():
            out.append(f"    class {','.join(members)} {name}")
        return "\n".join(out) + "\n"


@dataclass
class _Drawer:
    flows: FlowSet
    locale: str
    only: str | None
    graph: _Graph = field(default_factory=_Graph)

    def t(self, msgid: str) -> str:
        return self.flows.texts.get(self.locale, msgid)

    def crisis_flow(self) -> str | None:
        for trigger in self.flows.triggers:
            if trigger.id == CRISIS_TRIGGER and trigger.goto:
                return trigger.goto.split(".", 1)[0]
        return None

    def included(self, node: Node) -> bool:
        return self.only is None or node.flow == self.only

    def css(self, node: Node) -> str | None:
        if node.flow == self.crisis_flow():
            return "crisis"
        if node.on_request:
            return "onRequest"
        return None

    def node(self, node_ref: str) -> str:
        """Declare a node (an outside node as a plain stub) and return its Mermaid id."""
        node = self.flows.nodes[node_ref]
        if not self.included(node):
            # A crisis or on_request node keeps its colour even as a stub: that is what a reader looks for.
            return self.graph.declare(node_id(node_ref), "[…]", escape(node_ref), self.css(node) or "external")
        name = node_ref if self.only is None else node_ref.split(".", 1)[1]
        first = shorten(self.t(node.say[0])) if node.say else ""
        label = f"<b>{escape(name)}</b><br/>{escape(first)}" if first else f"<b>{escape(name)}</b>"
        shape = "([…])" if node.end else "[…]"
        return self.graph.declare(node_id(node_ref), shape, label, self.css(node))

    def action(self, action: str) -> str:
        return self.graph.declare(f"a_{action}", "[[…]]", escape(f"do: {action}"), "action")

    def trigger(self, trigger: Trigger) -> str:
        languages = (self.locale, self.flows.settings.default_language)
        words = next((trigger.keywords[lang] for lang in languages if trigger.keywords.get(lang)), ())
        shown = ", ".join(words[:KEYWORDS_SHOWN]) + (", …" if len(words) > KEYWORDS_SHOWN else "")
        label = f"<b>{escape(trigger.id)}</b><br/>{escape(shown)}" if shown else f"<b>{escape(trigger.id)}</b>"
        css = "crisis" if trigger.id == CRISIS_TRIGGER else "trigger"
        return self.graph.declare(f"t_{trigger.id}", "{{…}}", label, css)

    def next_label(self, node: Node) -> str:
        if node.next_label:
            return self.t(node.next_label)
        key = "button_menu" if node.next == self.flows.settings.menu else "button_next"
        return self.t(self.flows.messages.get(key, ""))

    def draw(self) -> str:
        settings = self.flows.settings
        nodes = [n for n in self.flows.nodes.values() if self.included(n)]
        for node in nodes:
            self.node(node.id)
        for command, target in (("/start", settings.start), ("/menu", settings.menu)):
            if target in self.flows.nodes and self.included(self.flows.nodes[target]):
                entry = self.graph.declare(f"e_{command[1:]}", "((…))", escape(command), "entry")
                self.graph.edge(entry, "-->", node_id(target))
        for trigger in self.flows.triggers:
            leads_here = trigger.goto is not None and self.included(self.flows.nodes[trigger.goto])
            if leads_here or (self.only is None and trigger.do):
                source = self.trigger(trigger)
                target = self.node(trigger.goto) if trigger.goto else self.action(trigger.do or "restart")
                self.graph.edge(source, "==>", target)
        for node in nodes:
            source = node_id(node.id)
            for choice in node.choices:
                target = self.node(choice.goto) if choice.goto else self.action(choice.do or "restart")
                self.graph.edge(source, "-->", target, self.t(choice.label))
            if node.next:
                self.graph.edge(source, "-.->", self.node(node.next), self.next_label(node))
        return self.graph.render()


def mermaid(flows: FlowSet, flow: str | None = None, locale: str | None = None) -> str:
    """A Mermaid flowchart of all flows, or of one flow (with its outside targets as dashed stubs).

    `locale` picks the translation of every label (default: the flows' default language).
    """
    if flow is not None and flow not in flows.flows:
        raise KeyError(flow)
    return _Drawer(flows, locale or flows.settings.default_language, flow).draw()


MARKDOWN_SUFFIXES = (".md", ".markdown")


def for_file(text: str, path: Path) -> str:
    """What `graph --out PATH` writes: a Markdown file gets a fenced ```mermaid block, which GitHub (and
    most Markdown viewers) draw as the diagram; any other file gets the Mermaid text as it is."""
    if path.suffix.lower() not in MARKDOWN_SUFFIXES:
        return text
    return f"```mermaid\n{text.rstrip()}\n```\n"
