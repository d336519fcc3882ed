"""How complete each language is: translated, missing and fuzzy texts, and triggers without keywords.

How a missing or fuzzy text is graded (warning, or error for a crisis text) is bot.i18n.rule's job. A
language only being prepared in `locales/` (not yet in settings.yaml) is just reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.flows import Findings, FlowSet, Problem
from bot.i18n.catalog import CatalogError
from bot.i18n.cycle import build_template, catalog_path, present_catalogs, shown_path
from bot.i18n.extract import PLACEHOLDER

SHOWN = 3  # how many texts an error quotes
SHOWN_TRIGGERS = 6
FIX_MISSING = "run `python -m bot i18n update`, then translate the empty entries"


@dataclass(frozen=True, slots=True)
class LanguageCoverage:
    """One language's numbers; `missing` and `fuzzy` are msgids in flow order."""

    code: str
    offered: bool
    total: int
    translated: int
    missing: tuple[str, ...]
    fuzzy: tuple[str, ...]
    stale: tuple[str, ...]
    triggers_without_keywords: tuple[str, ...]

    @property
    def percent(self) -> int:
        """Rounded down, so 99.9% never shows as 100%."""
        return self.translated * 100 // self.total if self.total else 100

    def summary(self) -> str:
        """`ro: 100% (212/212)`, plus what is left to do."""
        text = f"{self.code}: {self.percent}% ({self.translated}/{self.total})"
        todo = [
            f"{len(self.missing)} missing" if self.missing else "",
            f"{len(self.fuzzy)} fuzzy" if self.fuzzy else "",
        ]
        if self.triggers_without_keywords:
            todo.append(f"{len(self.triggers_without_keywords)} trigger(s) without keywords")
        todo = [item for item in todo if item]
        if todo:
            text += ": " + ", ".join(todo)
        if not self.offered:
            text += " (not offered yet; add it to `languages` in settings.yaml at 100%)"
        return text


@dataclass(frozen=True, slots=True)
class CoverageReport(Findings):
    """Every language with a catalog or on offer, and the problems found in them."""

    languages: tuple[LanguageCoverage, ...]
    problems: tuple[Problem, ...]


def measure(flows: FlowSet, flows_dir: Path, locales_dir: Path) -> CoverageReport:
    """Coverage of every offered language (except the default) and every catalog; raises CatalogError."""
    settings = flows.settings
    msgids = tuple(message.id for message in build_template(flows_dir) if isinstance(message.id, str) and message.id)
    offered = [code for code in settings.languages if code != settings.default_language]
    prepared = [
        code for code in present_catalogs(locales_dir) if code not in offered and code != settings.default_language
    ]
    keyword_lines = _keyword_lines(flows)
    languages: list[LanguageCoverage] = []
    problems: list[Problem] = []
    for code in (*offered, *prepared):
        is_offered = code in offered
        path = catalog_path(locales_dir, code)
        shown = shown_path(path)
        catalog = None
        if path.is_file():
            try:
                with path.open("rb") as handle:
                    catalog = read_po(handle, locale=code)
            except Exception as exc:  # babel raises several types for a malformed file
                # The bot would refuse to start on it too (bot.i18n.rule), so it is the same one-line error.
                raise CatalogError(f"{path}: cannot read catalog: {exc}") from exc
        elif is_offered:
            problems.append(Problem(shown, 0, code, "an offered language has no catalog", FIX_MISSING, "warning"))
        triggers = tuple(t.id for t in flows.triggers if code not in t.keywords) if is_offered else ()
        coverage, catalog_problems = _language(code, is_offered, msgids, catalog, shown, triggers)
        languages.append(coverage)
        if is_offered:
            problems.extend(catalog_problems)
            if triggers:
                problems.append(_triggers_problem(code, triggers, flows_dir, keyword_lines))
    return CoverageReport(tuple(languages), tuple(problems))


def _language(
    code: str, offered: bool, msgids: tuple[str, ...], catalog: Catalog | None, shown: str, triggers: tuple[str, ...]
) -> tuple[LanguageCoverage, list[Problem]]:
    problems: list[Problem] = []
    missing: list[str] = []
    fuzzy: list[str] = []
    for msgid in msgids:
        message = catalog.get(msgid) if catalog is not None else None
        if message is None or not isinstance(message.string, str) or not message.string.strip():
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
            continue
        lost = set(PLACEHOLDER.findall(msgid)) ^ set(PLACEHOLDER.findall(message.string))
        if lost:
            words = ", ".join(f"{{{word}}}" for word in sorted(lost))
            problems.append(
                Problem(
                    shown,
                    message.lineno or 1,
                    code,
                    f"the translation of {_quote(msgid)} does not have the same {words} as the English",
                    "keep every {word} in braces exactly as in the English: the bot fills it in",
                )
            )
    stale: list[str] = []
    if catalog is not None:
        known = set(msgids)
        stale = [m.id for m in catalog if isinstance(m.id, str) and m.id and m.id not in known]
        stale += [str(key) for key in catalog.obsolete]
    # Missing and fuzzy texts are graded by the one translation rule (bot.i18n.rule), not here.
    if stale:
        problems.append(
            Problem(
                shown,
                1,
                code,
                f"{len(stale)} old entr{'y' if len(stale) == 1 else 'ies'} no longer in the flows: {_quotes(stale)}",
                "run `python -m bot i18n update` to drop them",
                "warning",
            )
        )
    translated = len(msgids) - len(missing) - len(fuzzy)
    coverage = LanguageCoverage(
        code, offered, len(msgids), translated, tuple(missing), tuple(fuzzy), tuple(stale), triggers
    )
    return coverage, problems


def _triggers_problem(code: str, triggers: tuple[str, ...], flows_dir: Path, lines: dict[str, int]) -> Problem:
    return Problem(
        str(flows_dir / "triggers.yaml"),
        lines.get(triggers[0], 1),
        code,
        f"{len(triggers)} trigger(s) without `{code}` keywords: {', '.join(triggers[:SHOWN_TRIGGERS])}"
        + (f" and {len(triggers) - SHOWN_TRIGGERS} more" if len(triggers) > SHOWN_TRIGGERS else ""),
        f"add `{code}: [words, people would type]` under each trigger's `keywords`",
    )


def _keyword_lines(flows: FlowSet) -> dict[str, int]:
    """trigger id -> the line of its `keywords:`, for pointing at where to add a language."""
    found = {trigger.id: flows.sources.get("trigger", trigger.id, "keywords") for trigger in flows.triggers}
    return {tid: source.line for tid, source in found.items() if source is not None}


def _quote(msgid: str, limit: int = 40) -> str:
    one_line = " ".join(msgid.split())
    return f"“{one_line if len(one_line) <= limit else one_line[: limit - 1] + '…'}”"


def _quotes(msgids: Iterable[str]) -> str:
    msgids = list(msgids)
    shown = ", ".join(_quote(m) for m in msgids[:SHOWN])
    return shown + (f" and {len(msgids) - SHOWN} more" if len(msgids) > SHOWN else "")
