"""Discretion of what the bot sends: a lock-screen preview (a message's first line) must read neutrally.

`python -m bot check` reports every message start that shows a word from `preview_words`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.flows import FlowSet, Problem
from bot.flows.textmatch import KeywordIndex, normalise

# Keys of messages.yaml that are not the start of a message a user's phone would preview.
_NOT_PREVIEWED = ("button_", "command_", "staff_")


@dataclass(frozen=True, slots=True)
class Preview:
    """The first line of one message the bot can send, in one language, and where it is written."""

    language: str
    where: str
    first_line: str
    source: Path | None
    line: int = 0  # where the English text starts in its flows file; 0 for a translation (found in the catalog)


def previews(flows: FlowSet, flows_dir: Path, locales_dir: Path) -> Iterator[Preview]:
    """Every message start the bot can send, in every offered language."""
    english: list[tuple[str, str, Path, int]] = []
    for node in flows.nodes.values():
        english += [
            (node.id, part, *_written(flows, flows_dir / f"{node.flow}.yaml", "node", node.id, "say", i))
            for i, part in enumerate(node.say)
        ]
    english += [
        (f"messages.{key}", text, *_written(flows, flows_dir / "messages.yaml", "message", key))
        for key, text in flows.messages.items()
        if not key.startswith(_NOT_PREVIEWED)
    ]
    for language in flows.settings.languages:
        catalog = locales_dir / language / "LC_MESSAGES" / "messages.po"
        for where, msgid, path, line in english:
            text = flows.texts.get(language, msgid)
            if text == msgid and language != flows.settings.default_language:
                continue  # untranslated: the English is checked once, and coverage reports the gap
            first_line = text.strip().split("\n", 1)[0]
            if text == msgid:
                yield Preview(language, where, first_line, path, line)
            else:
                yield Preview(language, where, first_line, catalog)


def _written(flows: FlowSet, guess: Path, *path: str | int) -> tuple[Path, int]:
    """The file and the line where an English text starts, from the flow set's source map."""
    found = flows.sources.get(*path)
    return (Path(found.file), found.text_line) if found is not None else (guess, 1)


def _line_of(path: Path | None, text: str, cache: dict[Path, str]) -> int:
    """The line of a catalog where a translation starts."""
    if path is None or not path.is_file():
        return 1
    body = cache.setdefault(path, path.read_text(encoding="utf-8"))
    found = body.find(text)
    return body.count("\n", 0, found) + 1 if found >= 0 else 1


def _display(path: Path | None, *bases: Path) -> str:
    for base in bases:
        if path is not None and path.is_relative_to(base.parent):
            return str(path.relative_to(base.parent))
    return str(path)


def preview_problems(flows: FlowSet, flows_dir: Path, locales_dir: Path) -> list[Problem]:
    """A warning for each message whose first line shows a word from `preview_words`."""
    words = flows.settings.preview_words
    if not words:
        return []
    default = flows.settings.default_language
    # English words (HIV, PrEP …) are often kept as they are in other languages, so they count everywhere.
    index = KeywordIndex.build(
        [(word, {lang: [word]}) for lang, listed in words.items() for word in listed],
        flows.settings.languages,
        extra=default,
    )
    problems: list[Problem] = []
    files: dict[Path, str] = {}
    for preview in previews(flows, flows_dir, locales_dir):
        word = index.first_match(preview.language, normalise(preview.first_line))
        if word is None:
            continue
        path = preview.source
        problems.append(
            Problem(
                _display(path, flows_dir, locales_dir),
                preview.line or _line_of(path, preview.first_line, files),
                preview.where,
                f"[{preview.language}] the first line shows `{word}` on a lock screen: {preview.first_line[:60]!r}",
                "start with a short neutral line, then a line break, then the rest",
                "warning",
            )
        )
    return problems
