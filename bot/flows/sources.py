"""Where each item of the flows is written, kept in the loaded model so nothing reads the YAML twice.

A path names an item the way the files nest it: `("node", "testing.pep")`, `("node", "testing.pep",
"say", 0)`, `("node", "main.menu", "choices", 2, "label")`, `("trigger", "crisis", "keywords", "en", 3)`,
`("service", "nhs_111", "checked")`, `("message", "help")`, `("settings", "staff_hours")`,
`("flow", "testing")`. A new YAML field needs no change here: every key and list item is recorded.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.flows.yamlsource import LineDict, LineList

SourcePath = tuple[Hashable, ...]
SPECIAL_FILES = ("settings.yaml", "services.yaml", "triggers.yaml", "messages.yaml")
# Flow files nest four levels (node, choices, item, label); a deeper walk is an alias loop.
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Source:
    """An item's file, the line of its key or list dash, and the line its words start on."""

    file: str
    line: int
    # Differs from `line` only for a block text (`|`, `>`), whose words start on the next line.
    text_line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class SourceMap:
    """Where every item of a loaded flow set is written, by path."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[SourcePath, Source] | None = None) -> None:
        self._entries: Mapping[SourcePath, Source] = dict(entries or {})

    def get(self, *path: Hashable) -> Source | None:
        """The item at `path`, else its nearest recorded parent (as a missing key points at its mapping)."""
        for end in range(len(path), 0, -1):
            found = self._entries.get(path[:end])
            if found is not None:
                return found
        return None

    def __len__(self) -> int:
        return len(self._entries)


def entries(name: str, doc: Any) -> Iterator[tuple[SourcePath, int, Any]]:
    """The top-level items of one parsed flows file `name`: (path, line, raw value); odd shapes are skipped.

    The one reader of the files' layout outside the checker: the loader's source map and the babel
    extractor (which pybabel calls on one file at a time) both walk files through it.
    """
    if not isinstance(doc, LineDict):
        return
    if name == "messages.yaml" or name == "settings.yaml":
        kind = "message" if name == "messages.yaml" else "settings"
        yield from (((kind, key), doc.line_of(key), value) for key, value in doc.items())
    elif name == "services.yaml":
        found = doc.get("services")
        if isinstance(found, LineDict):
            yield from ((("service", sid), found.line_of(sid), data) for sid, data in found.items())
    elif name == "triggers.yaml":
        items = doc.get("triggers")
        if isinstance(items, LineList):
            for i, data in enumerate(items):
                if isinstance(data, LineDict):
                    yield ("trigger", data.get("id")), items.line_of(i), data
    else:
        yield from _flow_entries(doc)


def _flow_entries(doc: LineDict) -> Iterator[tuple[SourcePath, int, Any]]:
    flow = doc.get("flow")
    yield ("flow", flow), doc.line_of("flow"), doc
    nodes = doc.get("nodes")
    if isinstance(nodes, LineDict):
        yield from ((("node", f"{flow}.{name}"), nodes.line_of(name), data) for name, data in nodes.items())


def file_sources(file: str, name: str, doc: Any) -> dict[SourcePath, Source]:
    """Every item of one parsed flows file, shown as `file`, by path."""
    found: dict[SourcePath, Source] = {}
    for path, line, value in entries(name, doc):
        text_line = line
        if path[0] in ("message", "settings") and isinstance(doc, LineDict):
            text_line = doc.text_line_of(path[1])
        found[path] = Source(file, line, text_line)
        if path[0] != "flow":  # a flow's nodes are entries of their own
            _record(found, path, file, value, 0)
    return found


def _record(found: dict[SourcePath, Source], path: SourcePath, file: str, value: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, LineDict):
        for key, item in value.items():
            found[(*path, key)] = Source(file, value.line_of(key), value.text_line_of(key))
            _record(found, (*path, key), file, item, depth + 1)
    elif isinstance(value, LineList):
        for i, item in enumerate(value):
            found[(*path, i)] = Source(file, value.line_of(i), value.text_line_of(i))
            _record(found, (*path, i), file, item, depth + 1)
