"""Where each item of the flows is written, kept in the loaded model so nothing reads the YAML twice.

A path names an item the way the files nest it: `("node", "testing.pep")`, `("node", "testing.pep",
"say", 0)`, `("node", "main.menu", "choices", 2, "label")`, `("trigger", "crisis", "keywords", "en", 3)`,
`("service", "nhs_111", "checked")`, `("message", "help")`, `("settings", "staff_hours")`,
`("flow", "testing")`. A new YAML field needs no change here: every key and list item can be looked up.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.flows.yamlsource import LineDict, LineList

SourcePath = tuple[Hashable, ...]
SPECIAL_FILES = ("settings.yaml", "services.yaml", "triggers.yaml", "messages.yaml")
# Files with a meaning of their own that a flows folder may go without.
OPTIONAL_FILES = ("replies.yaml",)


@dataclass(frozen=True, slots=True)
class Source:
    """An item's file, the line of its key or list dash, and the line its words start on."""

    file: str
    line: int
    # Differs from `line` only for a block text (`|`, `>`), whose words start on the next line.
    text_line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Entry:
    """A top-level item of a flows file (a node, trigger, service, message or setting) as read."""

    file: str
    line: int
    text_line: int
    value: Any


class SourceMap:
    """Where every item of a loaded flow set is written, by path.

    Only the top-level items are indexed; a deeper path is looked up in the parsed YAML they keep
    (never changed after loading), which knows every key's and item's line, so loading costs nothing
    per keyword or text.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[SourcePath, Entry] | None = None) -> None:
        self._entries: Mapping[SourcePath, Entry] = dict(entries or {})

    def get(self, *path: Hashable) -> Source | None:
        """The item at `path`, else its nearest parent that exists (as a missing key points at its mapping)."""
        entry = self._entries.get(path[:2])
        if entry is None:
            return None
        found = Source(entry.file, entry.line, entry.text_line)
        value = entry.value
        for key in path[2:]:
            if not _holds(value, key):
                break
            found = Source(entry.file, value.line_of(key), value.text_line_of(key))
            value = value[key]
        return found

    def __len__(self) -> int:
        return len(self._entries)


def _holds(value: Any, key: Hashable) -> bool:
    if isinstance(value, LineDict):
        return key in value
    return isinstance(value, LineList) and isinstance(key, int) and 0 <= key < len(value)


def entries(name: str, doc: Any) -> Iterator[tuple[SourcePath, int, Any]]:
    """The top-level items of one parsed flows file `name`: (path, line, raw value); odd shapes are skipped.

    The one reader of the files' layout outside the checker: the loader's source map and the babel
    extractor (which pybabel calls on one file at a time) both walk files through it.
    """
    if not isinstance(doc, LineDict):
        return
    if name in ("messages.yaml", "settings.yaml", "replies.yaml"):
        kind = {"messages.yaml": "message", "settings.yaml": "settings"}.get(name, "reply")
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


def file_entries(file: str, name: str, doc: Any) -> dict[SourcePath, Entry]:
    """The top-level items of one parsed flows file, shown as `file`, by path."""
    found: dict[SourcePath, Entry] = {}
    for path, line, value in entries(name, doc):
        text_line = line
        if path[0] in ("message", "settings", "reply") and isinstance(doc, LineDict):
            text_line = doc.text_line_of(path[1])
        found[path] = Entry(file, line, text_line, value)
    return found
