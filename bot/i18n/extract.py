"""Babel extractor for `flows/*.yaml`: every text the bot shows a user, with its line and a note.

Registered as the babel extraction method `flows` (see pyproject.toml). The msgid is the text exactly
as the flow loader keeps it (stripped), so a catalog entry always matches what the engine looks up.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.flows.messages import MESSAGE_KEYS
from bot.flows.sources import entries
from bot.flows.yamlsource import LineDict, LineList, parse_yaml

# Staff notes are always written in the default language (see Handoffs.staff_say), so translators
# would waste their time on them. The alias users see before staff set one is not a note.
STAFF_ONLY = frozenset(key for key in MESSAGE_KEYS if key.startswith("staff_")) - {"staff_default_alias"}
# Files whose values never reach a user as text: keywords are per language in triggers.yaml itself.
NOT_TRANSLATED = frozenset({"settings.yaml", "triggers.yaml"})
PLACEHOLDER = re.compile(r"\{(\w*)\}")
COMMAND = re.compile(r"(?<![\w/])/[a-z]+\b")
# Labels repeat across nodes ("Back"); one shared note keeps the catalog readable, the locations say where.
BUTTON_NOTE = "a button: keep it short"


@dataclass(frozen=True, slots=True)
class Extracted:
    """One translatable text: the line it starts on, the text, and notes for translators."""

    line: int
    text: str
    comments: tuple[str, ...]


def texts_in(name: str, doc: Any) -> Iterator[Extracted]:
    """Every translatable text of the parsed YAML file `name` (e.g. `testing.yaml`)."""
    if not isinstance(doc, LineDict) or name in NOT_TRANSLATED:
        return
    if name == "messages.yaml":
        yield from _messages(doc)
    elif name == "services.yaml":
        yield from _services(doc)
    elif "nodes" in doc:
        yield from _flow(name, doc)


def extract_flows(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, None, str, list[str]]]:
    """The babel extractor: `(line, None, text, comments)` for each translatable text of one file."""
    name = Path(str(getattr(fileobj, "name", ""))).name
    doc = parse_yaml(fileobj.read().decode("utf-8"), name)
    for item in texts_in(name, doc):
        yield item.line, None, item.text, list(item.comments)


def _text(line: int, value: Any, *comments: str) -> Iterator[Extracted]:
    # Mirrors the loader: only strings count, stripped; text without letters (e.g. "999") needs no translation.
    if isinstance(value, str) and any(char.isalpha() for char in value):
        if COMMAND.search(value):
            comments = (*comments, "keep /commands such as /menu as they are: the messenger only knows them in English")
        yield Extracted(line, value.strip(), comments)


def _flow(name: str, doc: LineDict) -> Iterator[Extracted]:
    for (kind, where), _, node in entries(name, doc):
        if kind != "node" or not isinstance(node, LineDict):
            continue
        say = node.get("say")
        if isinstance(say, LineList):
            for i, part in enumerate(say):
                yield from _text(say.line_of(i), part, f"{where}: message {i + 1} of {len(say)}")
        else:
            yield from _text(node.line_of("say"), say, f"{where}: message")
        choices = node.get("choices")
        if isinstance(choices, LineList):
            for choice in choices:
                if isinstance(choice, LineDict):
                    yield from _text(choice.line_of("label"), choice.get("label"), BUTTON_NOTE)
        yield from _text(node.line_of("next_label"), node.get("next_label"), BUTTON_NOTE)


def _services(doc: LineDict) -> Iterator[Extracted]:
    for (_, sid), _, data in entries("services.yaml", doc):
        if not isinstance(data, LineDict):
            continue
        where = f"service {sid}"
        yield from _text(
            data.line_of("name"),
            data.get("name"),
            f"{where}: name; keep an organisation's own name, you may add a translation in brackets",
        )
        yield from _text(data.line_of("for"), data.get("for"), f"{where}: what it is for")
        yield from _text(data.line_of("hours"), data.get("hours"), f"{where}: opening hours")


def _messages(doc: LineDict) -> Iterator[Extracted]:
    for (_, key), line, value in entries("messages.yaml", doc):
        if key in STAFF_ONLY:
            continue
        comments = [f"{key}: {MESSAGE_KEYS.get(str(key), 'the bot’s own words')}"]
        if isinstance(value, str) and PLACEHOLDER.search(value):
            comments.append("keep every {word} in braces exactly as it is: the bot fills it in")
        yield from _text(line, value, *comments)
