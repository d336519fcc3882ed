"""YAML reading that remembers line numbers, so validation errors can name `file:line`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict):
    """A mapping from YAML that knows its own line and each key's line (1-based)."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}
        self.duplicates: list[tuple[Any, int]] = []
        self.text_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """Line of `key` if present, else the mapping's own line."""
        return self.key_lines.get(key, self.line)

    def text_line_of(self, key: Any) -> int:
        """Line where the value of `key` starts (after a `|` or `>`), else `line_of(key)`."""
        return self.text_lines.get(key, self.line_of(key))


class LineList(list):
    """A sequence from YAML that knows its own line and each item's line (1-based)."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []
        self.text_lines: list[int] = []

    def line_of(self, index: int) -> int:
        """Line of item `index`, else the sequence's own line."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line

    def text_line_of(self, index: int) -> int:
        """Line where item `index` starts (after a `|` or `>`), else `line_of(index)`."""
        return self.text_lines[index] if 0 <= index < len(self.text_lines) else self.line_of(index)


# libyaml parses about ten times faster and still gives node marks; the pure parser is the fallback.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    pass


def _text_line(node: yaml.Node) -> int:
    # The words of a block text (`|`, `>`) start on the line after its indicator.
    line: int = node.start_mark.line + 1
    return line + 1 if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") else line


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key here is a list or mapping; keys must be plain words", key_node.start_mark
            ) from None
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
        result.text_lines[key] = _text_line(value_node)
    return result


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(item.start_mark.line + 1)
        result.text_lines.append(_text_line(item))
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


@dataclass(frozen=True, slots=True)
class YamlSyntaxError(Exception):
    """The file is not valid YAML; `line`/`column` are 1-based, from the parser."""

    file: str
    line: int
    column: int
    reason: str


def read_yaml(path: Path) -> Any:
    """Parse one YAML file into LineDict/LineList/scalars, or raise YamlSyntaxError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(path.name, 1, 1, f"the file is not UTF-8 text ({exc.reason})") from None
    return parse_yaml(text, path.name)


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text (from the file `name`) into LineDict/LineList/scalars, or raise YamlSyntaxError."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        column = mark.column + 1 if mark else 1
        reason = exc.problem or str(exc)
        if exc.context:
            started = exc.context_mark
            where = f" started on line {started.line + 1}" if started and started.line != mark.line else ""
            reason = f"{reason} ({exc.context}{where})"
        raise YamlSyntaxError(name, line, column, reason) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(name, 1, 1, str(exc)) from None
