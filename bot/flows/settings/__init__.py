"""`flows/settings.yaml`: the `Settings` dataclass (model) and the parse of each group of settings."""

from bot.flows.settings.languages import is_locale
from bot.flows.settings.model import Review, Settings
from bot.flows.settings.parse import parse_settings

__all__ = ["Review", "Settings", "is_locale", "parse_settings"]
