"""`flows/messages.yaml`: every text the code asks for is there, and is text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.flows.checker import Checker
from bot.flows.messages import MESSAGE_KEYS


def parse_messages(ck: Checker, path: Path, doc: Any) -> None:
    """Check messages.yaml and keep its texts in `ck.messages`."""
    file = ck.display(path)
    data = ck.mapping(file, 1, "", doc, "messages.yaml")
    if data is None:
        return
    ck.unknown_keys(file, "", data, MESSAGE_KEYS, "messages")
    for key, hint in MESSAGE_KEYS.items():
        if key not in data:
            ck.error(file, data.line, "", f"message `{key}` is missing", f"add `{key}:` ({hint})")
            continue
        value = ck.text(file, data.line_of(key), "", data[key], f"message `{key}`")
        if value is not None:
            ck.messages[key] = value
