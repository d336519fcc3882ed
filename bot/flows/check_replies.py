"""`flows/replies.yaml`: saved replies staff send with `/reply NAME`, each a name and its English text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.flows.checker import NAME, Checker


def parse_replies(ck: Checker, path: Path, doc: Any) -> None:
    """Check replies.yaml and keep its texts in `ck.replies`; an empty file means no saved replies."""
    if doc is None:
        return
    file = ck.display(path)
    data = ck.mapping(file, 1, "", doc, "replies.yaml")
    if data is None:
        return
    for name, value in data.items():
        line = data.line_of(name)
        if not isinstance(name, str) or not NAME.match(name):
            ck.error(
                file,
                line,
                "",
                f"saved reply name `{name}` can't be typed after /reply",
                "use lower case letters, digits and _, starting with a letter, e.g. `clinic_details`",
            )
            continue
        text = ck.text(file, line, "", value, f"saved reply `{name}`")
        if text is not None:
            ck.replies[name] = text
