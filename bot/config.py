"""Where things live: flows, catalogs, database and secret, from the environment or defaults."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Path:
    # Prefer the folder in the working directory (a checkout), else the one beside the package.
    here = Path.cwd() / name
    return here if here.is_dir() else _REPO / name


def flows_dir(env: Mapping[str, str]) -> Path:
    """`BOT_FLOWS`, else ./flows, else the flows bundled with the code."""
    return Path(env["BOT_FLOWS"]) if env.get("BOT_FLOWS") else _bundled("flows")


def locales_dir(env: Mapping[str, str]) -> Path:
    """`BOT_LOCALES`, else ./locales, else the catalogs bundled with the code."""
    return Path(env["BOT_LOCALES"]) if env.get("BOT_LOCALES") else _bundled("locales")


def db_path(env: Mapping[str, str]) -> Path:
    """`BOT_DB`, else ./data/bot.sqlite3."""
    return Path(env["BOT_DB"]) if env.get("BOT_DB") else Path.cwd() / "data" / "bot.sqlite3"


def secret_path(env: Mapping[str, str]) -> Path:
    """`BOT_SECRET_FILE`, else ./data/secret (created on first run)."""
    return Path(env["BOT_SECRET_FILE"]) if env.get("BOT_SECRET_FILE") else Path.cwd() / "data" / "secret"
