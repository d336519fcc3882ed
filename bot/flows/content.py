"""Loading everything staff edit: the flows and their translations, as one FlowSet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.flows.model import FlowSet
from bot.flows.problems import FlowError, Problem
from bot.flows.yamlsource import misnamed
from bot.i18n.rule import load_translated


def misnamed_problems(flows_dir: Path) -> tuple[Problem, ...]:
    """An error for each file the bot would not read because of its name (e.g. `main.yml`)."""
    return tuple(
        Problem(
            str(path),
            0,
            "",
            f"{path.name} is not read: the bot reads only files whose names end in .yaml",
            f"rename it to {path.stem}.yaml",
        )
        for path in misnamed(flows_dir)
    )


def load_content(flows_dir: Path, locales_dir: Path, today: date | None = None, *, live: bool = False) -> FlowSet:
    """Validate the flows and attach the catalogs under the one translation rule; raises FlowError or CatalogError.
    `live=True` wherever the flows are about to reach users (start-up, reload, publish): then a translation
    error (an untranslated crisis text) refuses them too; tools and tests that only read them leave it off."""
    refused = misnamed_problems(flows_dir)
    if refused:
        raise FlowError(list(refused))
    return load_translated(flows_dir, locales_dir, today, live=live)
