"""Loading a flows folder: read every file, run every check, and build the FlowSet only if none fails.

Every problem names `file:line`, the node, what is wrong and how to fix it, and all problems are
reported at once. A flow set either loads whole or not at all (`load` raises `FlowError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.flows.check_messages import parse_messages
from bot.flows.check_nodes import build_node, parse_flow
from bot.flows.check_replies import parse_replies
from bot.flows.check_rules import (
    check_entry_points,
    check_on_request,
    check_reachability,
    check_waiting_services,
)
from bot.flows.check_services import parse_services
from bot.flows.check_triggers import build_triggers, check_trigger_rules, parse_triggers
from bot.flows.checker import Checker
from bot.flows.model import FlowSet, Trigger
from bot.flows.problems import Findings, FlowError, Problem
from bot.flows.settings import parse_settings
from bot.flows.sources import OPTIONAL_FILES, SPECIAL_FILES, Entry, SourceMap, SourcePath, file_entries
from bot.flows.textmatch import KeywordIndex
from bot.flows.yamlsource import YamlSyntaxError, read_yaml

# file name -> its path and its parsed YAML
Docs = dict[str, tuple[Path, Any]]


@dataclass(frozen=True, slots=True)
class Report(Findings):
    """What `check` found: the flow set if it has no errors, and every problem."""

    flowset: FlowSet | None
    problems: tuple[Problem, ...]


def load(directory: Path, today: date | None = None) -> FlowSet:
    """Load and validate a flows directory, or raise FlowError listing every problem."""
    report = check(directory, today)
    if report.flowset is None:
        raise FlowError(list(report.problems))
    return report.flowset


def check(directory: Path, today: date | None = None) -> Report:
    """Validate a flows directory and report every problem at once."""
    ck = Checker(Path(directory), today)
    if not ck.dir.is_dir():
        ck.error(str(ck.dir), 0, "", "flows directory not found", "pass the folder holding the *.yaml flows")
        return Report(None, tuple(ck.problems))
    files = sorted(ck.dir.glob("*.yaml"))
    docs = _read(ck, files)
    _parse(ck, docs, files)
    for raw in ck.raw_nodes.values():
        build_node(ck, raw)
    triggers = build_triggers(ck)
    check_entry_points(ck)
    check_waiting_services(ck)
    check_on_request(ck)
    check_trigger_rules(ck, triggers)
    check_reachability(ck, triggers)
    ck.problems.sort(key=lambda p: (p.severity != "error", p.file, p.line))
    if any(p.severity == "error" for p in ck.problems):
        return Report(None, tuple(ck.problems))
    return Report(_flowset(ck, triggers, docs), tuple(ck.problems))


def _read(ck: Checker, files: list[Path]) -> Docs:
    docs: Docs = {}
    for path in files:
        try:
            docs[path.name] = (path, read_yaml(path))
        except YamlSyntaxError as exc:
            ck.unreadable.add(path.stem)
            ck.error(
                ck.display(path),
                exc.line,
                "",
                f"invalid YAML at column {exc.column}: {exc.reason}",
                "check indentation, colons and quotes on this line or the one before",
            )
    for name in SPECIAL_FILES:
        if name not in docs and not any(p.name == name for p in files):
            ck.error(str(ck.dir / name), 0, "", f"{name} is missing", f"create {name} in the flows folder")
    return docs


def _parse(ck: Checker, docs: Docs, files: list[Path]) -> None:
    # Settings first (languages), then what nodes refer to (messages, services), then the flows.
    if "settings.yaml" in docs:
        parse_settings(ck, *docs["settings.yaml"])
    if "messages.yaml" in docs:
        parse_messages(ck, *docs["messages.yaml"])
    if "services.yaml" in docs:
        parse_services(ck, *docs["services.yaml"])
    if "replies.yaml" in docs:
        parse_replies(ck, *docs["replies.yaml"])
    for name, (path, doc) in docs.items():
        if name not in SPECIAL_FILES and name not in OPTIONAL_FILES:
            parse_flow(ck, path, doc)
    if not ck.flows and files:
        ck.error(
            str(ck.dir), 0, "", "no flow files found", "add a file like main.yaml with `flow:`, `start:` and `nodes:`"
        )
    if "triggers.yaml" in docs:
        parse_triggers(ck, *docs["triggers.yaml"])


def _flowset(ck: Checker, triggers: tuple[Trigger, ...], docs: Docs) -> FlowSet:
    sources: dict[SourcePath, Entry] = {}
    for name, (path, doc) in docs.items():
        sources.update(file_entries(ck.display(path), name, doc))
    return FlowSet(
        flows=MappingProxyType(dict(ck.flows)),
        nodes=MappingProxyType(dict(ck.nodes)),
        triggers=triggers,
        services=MappingProxyType(dict(ck.services)),
        messages=MappingProxyType(dict(ck.messages)),
        replies=MappingProxyType(dict(ck.replies)),
        settings=ck.settings,
        trigger_index=KeywordIndex.build(
            [(t, t.keywords, t.not_in) for t in triggers], ck.settings.languages, ck.settings.default_language
        ),
        sources=SourceMap(sources),
    )
