"""Loading everything staff edit: the flows and their translations, as one FlowSet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.flows.spec import FlowSet
from bot.i18n.rule import load_translated


def load_content(flows_dir: Path, locales_dir: Path, today: date | None = None) -> FlowSet:
    """Validate the flows and attach the catalogs under the one translation rule; raises FlowError or CatalogError."""
    return load_translated(flows_dir, locales_dir, today)
