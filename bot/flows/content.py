"""Loading everything staff edit: the flows and their translations, as one FlowSet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.flows.loader import load
from bot.flows.model import FlowSet
from bot.i18n.catalog import load_texts


def load_content(flows_dir: Path, locales_dir: Path, today: date | None = None) -> FlowSet:
    """Validate the flows and attach the catalogs; raises FlowError or CatalogError."""
    return load(flows_dir, today).with_texts(load_texts(locales_dir))
