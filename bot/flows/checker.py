"""What every file's checks share: the problems found so far, what is built, and the shape checks.

Each file kind has its own module (`settings`, `check_messages`, `check_services`, `check_nodes`,
`check_triggers`, `check_replies`) and the rules across files are in `check_rules`; `loader` runs them in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.flows.model import Flow, Node, Service
from bot.flows.problems import Problem, suggest
from bot.flows.settings import Settings
from bot.flows.yamlsource import LineDict
from bot.vocabulary import FLOW_ACTIONS

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class RawNode:
    """A node as read, before it is checked and built."""

    id: str
    file: str
    line: int
    data: LineDict
    flow_on_request: bool


@dataclass
class RawTrigger:
    """A trigger as read, before it is checked and built."""

    file: str
    line: int
    data: LineDict


@dataclass
class Checker:
    """Collects problems across all files; the loader builds the FlowSet only when there are none."""

    dir: Path
    today: date | None
    problems: list[Problem] = field(default_factory=list)
    flows: dict[str, Flow] = field(default_factory=dict)
    flow_files: dict[str, tuple[str, int]] = field(default_factory=dict)
    raw_nodes: dict[str, RawNode] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    raw_triggers: list[RawTrigger] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)  # saved replies staff send by name
    settings: Settings = field(default_factory=Settings)
    settings_lines: dict[str, int] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # stems of files that are not valid YAML

    # -- reporting -----------------------------------------------------------------------------

    def error(self, file: str, line: int, where: str, what: str, fix: str) -> None:
        """Record a problem that stops the flows from loading."""
        self.problems.append(Problem(file, line, where, what, fix, "error"))

    def warn(self, file: str, line: int, where: str, what: str, fix: str) -> None:
        """Record a problem worth fixing that does not stop the flows from loading."""
        self.problems.append(Problem(file, line, where, what, fix, "warning"))

    def display(self, path: Path) -> str:
        """How problems name a file of the flows folder."""
        return str(self.dir / path.name)

    # -- shared shape checks -------------------------------------------------------------------

    def mapping(self, file: str, line: int, where: str, value: Any, what: str) -> LineDict | None:
        """`value` if it is a mapping (reporting keys written twice), else None and a problem."""
        if isinstance(value, LineDict):
            for key, dup_line in value.duplicates:
                self.error(file, dup_line, where, f"`{key}` appears twice in {what}", "keep one of them, or rename one")
            return value
        self.error(file, line, where, f"{what} should be a mapping of `key: value` lines", "indent its keys under it")
        return None

    def unknown_keys(self, file: str, where: str, data: LineDict, allowed: Iterable[str], what: str) -> None:
        """Report every key of `data` that is not `allowed`, with the nearest allowed one."""
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.error(file, data.line_of(key), where, f"unknown key `{key}` in {what}", suggest(key, allowed))

    def text(self, file: str, line: int, where: str, value: Any, what: str, required: bool = True) -> str | None:
        """`value` stripped if it is text, else None and (when required or not text) a problem."""
        if value is None:
            if required:
                self.error(file, line, where, f"{what} is missing or empty", f"write the {what} text")
            return None
        if isinstance(value, bool | int | float | date):
            self.error(
                file,
                line,
                where,
                f"{what} `{value}` was read as a {type(value).__name__}, not as text",
                'put it in quotes, e.g. "No" or "111"',
            )
            return None
        if not isinstance(value, str):
            self.error(file, line, where, f"{what} should be text", "write it as one line or a `|` block")
            return None
        if not value.strip():
            if required:
                self.error(file, line, where, f"{what} is empty", f"write the {what} text")
            return None
        return value.strip()

    def flag(self, file: str, where: str, data: LineDict, key: str) -> bool:
        """A true/false key of `data` (false when absent or not a boolean)."""
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.error(file, data.line_of(key), where, f"`{key}` should be true or false", f"write `{key}: true`")
            return False
        return value

    # -- links ---------------------------------------------------------------------------------

    def ref(self, flow: str, target: Any) -> str | None:
        """Resolve `goto`/`next`: `flow.node`, a node of this flow, or a flow's name (its start)."""
        if not isinstance(target, str) or not target.strip():
            return None
        target = target.strip()
        if "." in target:
            return target if target in self.raw_nodes else None
        if f"{flow}.{target}" in self.raw_nodes:
            return f"{flow}.{target}"
        if target in self.flows:
            return self.flows[target].start
        return None

    def ref_fix(self, flow: str, target: Any) -> str:
        """The fix for a link that leads nowhere: the nearest flow or node."""
        target = str(target)
        if "." in target:
            flow_name, node = target.split(".", 1)
            if flow_name not in self.flows:
                return f"no flow `{flow_name}`; " + suggest(flow_name, self.flows)
            names = [n.split(".", 1)[1] for n in self.raw_nodes if n.startswith(flow_name + ".")]
            return f"flow `{flow_name}` has no node `{node}`; " + suggest(node, names)
        local = [n.split(".", 1)[1] for n in self.raw_nodes if n.startswith(flow + ".")]
        return "write `flow.node`, or a node of this flow; " + suggest(target, local + list(self.flows))

    def link(self, file: str, where: str, flow: str, data: LineDict, key: str) -> str | None:
        """Resolve `data[key]` (a `goto` or `next`), reporting a link that leads nowhere."""
        found = self.ref(flow, data[key])
        if found is None and not self.in_unreadable(data[key]):
            self.error(
                file, data.line_of(key), where, f"`{key}: {data[key]}` leads nowhere", self.ref_fix(flow, data[key])
            )
        return found

    def target(
        self, file: str, line: int, where: str, flow: str, data: LineDict, what: str
    ) -> tuple[str | None, str | None]:
        """Check a `goto`/`do` pair: exactly one of them, each valid. Returns (goto, do)."""
        has_goto, has_do = "goto" in data, "do" in data
        if has_goto == has_do:
            self.error(
                file,
                line,
                where,
                f"{what} needs exactly one of `goto` or `do`",
                "e.g. `goto: testing.menu` or `do: handoff`",
            )
            return None, None
        if has_do:
            action = data["do"]
            if action not in FLOW_ACTIONS:
                self.error(
                    file, data.line_of("do"), where, f"unknown action `{action}`", suggest(action, sorted(FLOW_ACTIONS))
                )
                return None, None
            return None, action
        return self.link(file, where, flow, data, "goto"), None

    def in_unreadable(self, target: Any) -> bool:
        """True for a link into a file that is not valid YAML: that file's syntax error is reported once."""
        return str(target).split(".", 1)[0] in self.unreadable
