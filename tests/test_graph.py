"""The Mermaid graph: structurally valid for the shipped flows and for awkward text, styled, translated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.cli import main as cli
from bot.flows import FlowSet, load
from bot.flows.content import load_content
from bot.flows.graph import escape, mermaid, node_id
from bot.i18n.catalog import Texts
from tests.conftest import FLOWS, INFO, REPO, TRIGGERS, WriteFlows

_ID = r"[A-Za-z][A-Za-z0-9_]*"
# A quoted label: no raw quote inside; '<' only in the three tags the graph writes itself.
_LABEL = r'"(?:[^"<]|<b>|</b>|<br/>)*"'
_SHAPES = {"[": "]", "([": "])", "[[": "]]", "{{": "}}", "((": "))"}
_DECLARATION = re.compile(
    rf"^    (?P<id>{_ID})(?P<open>\(\[|\[\[|\{{\{{|\(\(|\[)(?P<label>{_LABEL})(?P<close>\]\)|\]\]|\}}\}}|\)\)|\])$"
)
_EDGE = re.compile(rf"^    (?P<source>{_ID}) (?P<arrow>-->|-\.->|==>)(?:\|(?P<label>{_LABEL})\|)? (?P<target>{_ID})$")
_CLASSDEF = re.compile(rf"^    classDef (?P<name>{_ID}) (?P<style>[a-z-]+:[^;\s,]+(?:,[a-z-]+:[^;,]+)*)$")
_CLASS = re.compile(rf"^    class (?P<ids>{_ID}(?:,{_ID})*) (?P<name>{_ID})$")


@dataclass
class Parsed:
    nodes: dict[str, str] = field(default_factory=dict)  # id -> label
    shapes: dict[str, str] = field(default_factory=dict)
    edges: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # source, arrow, label, target
    classdefs: set[str] = field(default_factory=set)
    classes: dict[str, str] = field(default_factory=dict)  # id -> class


def parse(text: str) -> Parsed:
    """Read the subset of Mermaid the graph writes, failing on any line outside it."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    parsed = Parsed()
    for number, line in enumerate(lines[1:], start=2):
        if match := _DECLARATION.match(line):
            ident = match["id"]
            assert ident not in parsed.nodes, f"line {number}: {ident} declared twice"
            assert _SHAPES[match["open"]] == match["close"], f"line {number}: mismatched brackets"
            parsed.nodes[ident] = match["label"][1:-1]
            parsed.shapes[ident] = match["open"]
        elif match := _EDGE.match(line):
            label = match["label"][1:-1] if match["label"] else None
            parsed.edges.append((match["source"], match["arrow"], label, match["target"]))
        elif match := _CLASSDEF.match(line):
            parsed.classdefs.add(match["name"])
        elif match := _CLASS.match(line):
            for ident in match["ids"].split(","):
                assert ident not in parsed.classes, f"line {number}: {ident} given two classes"
                parsed.classes[ident] = match["name"]
        else:
            raise AssertionError(f"line {number} is not Mermaid the graph should write: {line!r}")
    for source, _, _, target in parsed.edges:
        assert source in parsed.nodes and target in parsed.nodes, f"edge {source} -> {target} to an undeclared node"
    for ident, name in parsed.classes.items():
        assert ident in parsed.nodes, f"class {name} given to undeclared {ident}"
        assert name in parsed.classdefs, f"class {name} is not defined"
    for ident in ("end", "graph", "subgraph", "style", "class", "classDef", "click"):
        assert ident not in parsed.nodes, f"{ident} is a Mermaid keyword"
    return parsed


@pytest.fixture(scope="module")
def shipped() -> FlowSet:
    return load_content(FLOWS, REPO / "locales")


def test_the_whole_shipped_graph_is_valid_mermaid_with_every_node_and_choice(shipped: FlowSet) -> None:
    graph = parse(mermaid(shipped))
    for node in shipped.nodes.values():
        assert node_id(node.id) in graph.nodes
        labelled = [e for e in graph.edges if e[0] == node_id(node.id) and e[1] == "-->"]
        assert len(labelled) == len(node.choices), node.id
        assert all(label for _, _, label, _ in labelled)
        dotted = [e for e in graph.edges if e[0] == node_id(node.id) and e[1] == "-.->"]
        assert len(dotted) == (1 if node.next else 0), node.id
    assert len([e for e in graph.edges if e[1] == "==>"]) == len(shipped.triggers)


def test_crisis_and_on_request_nodes_are_styled_apart(shipped: FlowSet) -> None:
    graph = parse(mermaid(shipped))
    crisis_flow = next(t.goto for t in shipped.triggers if t.id == "crisis").split(".")[0]  # type: ignore[union-attr]
    for node in shipped.nodes.values():
        ident = node_id(node.id)
        if node.flow == crisis_flow:
            assert graph.classes.get(ident) == "crisis", node.id
        elif node.on_request:
            assert graph.classes.get(ident) == "onRequest", node.id
        else:
            assert ident not in graph.classes, node.id
    assert graph.classes["t_crisis"] == "crisis"
    assert any(name == "trigger" for name in graph.classes.values())
    assert any(shipped.nodes[n].on_request for n in shipped.nodes), "the shipped flows should have an exit flow"


def test_one_flow_shows_its_nodes_and_outside_targets_as_stubs(shipped: FlowSet) -> None:
    graph = parse(mermaid(shipped, "main"))
    own = {node_id(n) for n in shipped.nodes if n.startswith("main.")}
    assert own <= set(graph.nodes)
    stubs = {ident for ident, name in graph.classes.items() if name == "external"}
    assert stubs and not stubs & own
    assert all(graph.nodes[ident].count(".") == 1 for ident in stubs)  # stubs show their full `flow.node`
    assert ("e_start", "-->", None, node_id(shipped.settings.start)) in graph.edges


def test_triggers_enter_from_a_trigger_node_with_their_keywords(write_flows: WriteFlows) -> None:
    flows = load(
        write_flows(
            triggers_yaml=TRIGGERS
            + """\
  - id: clinic
    priority: 5
    goto: info.clinic
    keywords:
      en: [clinic, test, tested, testing, screening]
"""
        )
    )
    graph = parse(mermaid(flows))
    assert ("t_clinic", "==>", None, "n_info__clinic") in graph.edges
    assert ("t_help", "==>", None, "a_handoff") in graph.edges
    assert graph.shapes["t_clinic"] == "{{"
    assert graph.nodes["t_clinic"] == "<b>clinic</b><br/>clinic, test, tested, testing, …"
    # A one-flow graph shows only the triggers that lead into it.
    assert "t_clinic" in parse(mermaid(flows, "info")).nodes and "t_help" not in parse(mermaid(flows, "info")).nodes


def test_awkward_text_is_escaped_so_the_graph_still_parses(write_flows: WriteFlows) -> None:
    awkward = 'Say "yes" [or] {no} #1 <b>&</b> a|b `code` — Română, 中文, 🙂'
    directory = write_flows(
        info_yaml=INFO.replace(
            '{label: "Clinic", goto: clinic}', "{label: '" + awkward.replace("'", "''") + "', goto: clinic}"
        ).replace("say: Go to a clinic.", "say: '" + awkward + "'")
    )
    graph = parse(mermaid(load(directory)))
    (label,) = [label for source, _, label, _ in graph.edges if source == "n_info__menu" and label and "yes" in label]
    assert label == escape(awkward)
    assert "#quot;yes#quot;" in label and "#35;1" in label and "#lt;b#gt;#amp;#lt;/b#gt;" in label
    assert "a#124;b" in label and "#96;code#96;" in label and "Română, 中文, 🙂" in label
    assert "[or] {no}" in label  # brackets are safe inside quotes
    assert graph.nodes["n_info__clinic"].startswith("<b>info.clinic</b><br/>Say #quot;yes#quot;")


def test_long_first_lines_are_shortened_at_a_word() -> None:
    from bot.flows.graph import shorten

    assert shorten("word " * 30, 20) == "word word word word…"
    assert shorten("short\nsecond line") == "short"


def test_lang_labels_the_graph_in_that_language(write_flows: WriteFlows) -> None:
    flows = load(write_flows()).with_texts(
        Texts(
            MappingProxyType(
                {
                    "ro": MappingProxyType(
                        {
                            "Clinic": "Clinică",
                            "Go to a clinic.": "Mergi la o clinică.",
                        }
                    )
                }
            )
        )
    )
    graph = parse(mermaid(flows, "info", "ro"))
    assert ("n_info__menu", "-->", "Clinică", "n_info__clinic") in graph.edges
    assert graph.nodes["n_info__clinic"] == "<b>clinic</b><br/>Mergi la o clinică."
    assert ("n_info__menu", "-->", "Clinic", "n_info__clinic") in parse(mermaid(flows, "info")).edges


def write_catalog(locales: Path, code: str, entries: dict[str, str]) -> None:
    catalog = Catalog(locale=code)
    for msgid, text in entries.items():
        catalog.add(msgid, text)
    folder = locales / code / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, catalog)


def test_graph_command_writes_a_translated_file(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(
        settings_yaml="default_language: en\nlanguages: [en, ro]\nstart: main.welcome\nmenu: main.menu\n"
    )
    write_catalog(tmp_path / "locales", "ro", {"Info": "Informații"})
    env = {"BOT_LOCALES": str(tmp_path / "locales")}
    out = tmp_path / "graph.mmd"
    assert cli.main(["graph", "--flows", str(directory), "--flow", "main", "--lang", "ro", "--out", str(out)], env) == 0
    graph = parse(out.read_text(encoding="utf-8"))
    assert ("n_main__welcome", "-->", "Informații", "n_info__menu") in graph.edges
    assert cli.main(["graph", "--flows", str(directory)], env) == 0
    parse(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flow", "mian"], "error: no flow `mian`: did you mean `main`?"),
        (["--lang", "xx"], "error: language `xx` has no translations (available: en)"),
        (["--out", "/nonexistent-dir/graph.mmd"], "error: cannot write /nonexistent-dir/graph.mmd"),
    ],
)
def test_graph_command_mistakes_are_one_clear_line(
    write_flows: WriteFlows, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert cli.main(["graph", "--flows", str(write_flows()), *args], {"BOT_LOCALES": "/nonexistent"}) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_readme_shows_the_main_flow_as_valid_mermaid(shipped: FlowSet) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```mermaid\n(.*?)```", readme, re.S)
    assert match, "README.md should show the main flow as a mermaid block"
    graph = parse(match[1])
    # Labels change as content is edited; the nodes must be there (regenerate: python -m bot graph --flow main).
    assert {node_id(n) for n in shipped.nodes if n.startswith("main.")} <= set(graph.nodes)
