"""Check a draft with the same functions and words as `python -m bot check`, as if it were to go live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import bot.flows as flowspec
from bot.flows import FlowSet, Problem
from bot.flows.content import misnamed_problems
from bot.i18n.catalog import CatalogError
from bot.i18n.coverage import LanguageCoverage, measure
from bot.i18n.rule import translations


@dataclass(frozen=True, slots=True)
class Review:
    """The draft's flows (with texts under the translation rule) if it could go live, else its errors."""

    flows: FlowSet | None
    errors: tuple[str, ...]
    warnings: int
    coverage: tuple[LanguageCoverage, ...] = ()


def review(folder: Path, locales_dir: Path, today: date) -> Review:
    """Every error `check` would print for `folder`, named `file:line` relative to it (staff sent the files
    by name, not by the server's path), or the flow set ready to go live."""
    misnamed = misnamed_problems(folder)
    report = flowspec.check(folder, today=today)
    if misnamed or report.flowset is None:
        return Review(None, _shown(folder, (*misnamed, *report.errors)), len(report.warnings))
    try:
        rule = translations(report.flowset, folder, locales_dir)
        coverage = measure(report.flowset, folder, locales_dir)
    except CatalogError as exc:
        return Review(None, (str(exc),), len(report.warnings))
    errors = (*rule.errors, *coverage.errors)
    warnings = len(report.warnings) + len(rule.warnings) + len(coverage.warnings)
    if errors:
        return Review(None, _shown(folder, errors), warnings)
    offered = tuple(language for language in coverage.languages if language.offered)
    return Review(report.flowset.with_texts(rule.texts), (), warnings, offered)


def _shown(folder: Path, problems: tuple[Problem, ...]) -> tuple[str, ...]:
    prefix = f"{folder}/"
    return tuple(str(problem).replace(prefix, "") for problem in problems)
