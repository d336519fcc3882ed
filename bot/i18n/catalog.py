"""Translations: gettext catalogs from `locales/`, read with babel; locale negotiation and names.

English flow text is the msgid. Catalogs are read straight from `.po` files at start-up, so no
compile step is needed to run the bot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import denormalize, read_po

from bot.errors import BotError


@dataclass(frozen=True, slots=True)
class Texts:
    """msgid -> translation per locale; a missing translation falls back to the English msgid."""

    catalogs: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, locale: str, msgid: str) -> str:
        """The text for `msgid` in `locale`, or the msgid itself."""
        catalog = self.catalogs.get(locale)
        if catalog is None:
            return msgid
        return catalog.get(msgid) or msgid

    def locales(self) -> tuple[str, ...]:
        """Locales that have a catalog."""
        return tuple(self.catalogs)


class CatalogError(BotError):
    """A catalog could not be read; the message names the file."""


def load_texts(locales_dir: Path, domain: str = "messages") -> Texts:
    """Read every `locales/<code>/LC_MESSAGES/<domain>.po` raw; fuzzy and empty entries are skipped.
    What users read is decided by the translation rule (bot.i18n.rule.translations), not by this."""
    catalogs: dict[str, Mapping[str, str]] = {}
    if not locales_dir.is_dir():
        return Texts()
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        code = po_path.parent.parent.name
        try:
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=code)
        except Exception as exc:  # babel raises several types for a malformed file
            raise CatalogError(f"{po_path}: cannot read catalog: {exc}") from exc
        entries = {
            message.id: message.string
            for message in catalog
            if message.id
            and isinstance(message.id, str)
            and isinstance(message.string, str)
            and message.string
            and not message.fuzzy
        }
        catalogs[code] = MappingProxyType(entries)
    return Texts(MappingProxyType(catalogs))


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """Read a `.po` file, keeping each fuzzy entry's old English (`#| msgid`), which babel's reader drops
    into the translator comments; raises CatalogError naming the file."""
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
    except Exception as exc:  # babel raises several types for a malformed file
        raise CatalogError(f"{path}: cannot read catalog: {exc}") from exc
    for message in catalog:
        previous = [c[1:].strip() for c in message.user_comments if c.startswith("| ")]
        if previous and previous[0].startswith("msgid "):
            message.user_comments = [c for c in message.user_comments if not c.startswith("| ")]
            quoted = [previous[0].removeprefix("msgid ").strip()]
            quoted += [line for line in previous[1:] if line.startswith('"')]
            message.previous_id = [denormalize("\n".join(quoted))]
    return catalog


def negotiate(language_code: str | None, offered: Iterable[str], default: str) -> str:
    """Pick the offered locale that best fits a messenger's IETF code (e.g. `pt-BR`, `zh-hans`)."""
    offered = tuple(offered)
    if not language_code:
        return default
    wanted = language_code.replace("-", "_")
    try:
        parsed = Locale.parse(wanted)
    except (ValueError, UnknownLocaleError):
        return default
    by_identity = {code.lower(): code for code in offered}
    if str(parsed).lower() in by_identity:
        return by_identity[str(parsed).lower()]
    for code in offered:
        try:
            candidate = Locale.parse(code)
        except (ValueError, UnknownLocaleError):
            continue
        if candidate.language == parsed.language and (
            parsed.script is None or candidate.script in (None, parsed.script)
        ):
            return code
    return default


def language_name(code: str) -> str:
    """The language's name in itself, e.g. `ro` -> `Română`."""
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]
