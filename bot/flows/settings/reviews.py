"""The `reviewed` settings: who read each language's translations, and when."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.flows.settings.model import Review
from bot.flows.yamlsource import LineDict

if TYPE_CHECKING:
    from bot.flows.checker import Checker


def parse_reviews(ck: Checker, file: str, data: LineDict, languages: tuple[str, ...]) -> Mapping[str, Review]:
    """`reviewed: {ro: {by: NAME, date: DATE, note: TEXT}}`; a machine-written language keeps both null."""
    reviews: dict[str, Review] = {}
    entries = ck.mapping(file, data.line_of("reviewed"), "", data["reviewed"], "`reviewed`")
    if entries is None:
        return MappingProxyType(reviews)
    for code, raw in entries.items():
        line = entries.line_of(code)
        if code not in languages:
            ck.error(
                file,
                line,
                "",
                f"`reviewed` names `{code}`, which `languages` does not offer",
                "use a code from `languages`",
            )
            continue
        entry = ck.mapping(file, line, "", raw, f"`reviewed: {code}`")
        if entry is None:
            continue
        ck.unknown_keys(file, "", entry, ("by", "date", "note"), f"`reviewed: {code}`")
        by, on, note = entry.get("by"), entry.get("date"), entry.get("note") or ""
        if (by is not None and not isinstance(by, str)) or (on is not None and not isinstance(on, date)):
            ck.error(
                file,
                line,
                "",
                f"`reviewed: {code}` needs `by:` a name and `date:` a date (YYYY-MM-DD), or null for both",
                "never record machine-written text as reviewed",
            )
            continue
        if (by is None) != (on is None):
            ck.error(
                file,
                line,
                "",
                f"`reviewed: {code}` has only one of `by` and `date`",
                "a review names who read it and on which day; leave both null until a person has",
            )
            continue
        reviews[str(code)] = Review(by=by, on=on, note=str(note))
    return MappingProxyType(reviews)
