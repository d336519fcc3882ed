"""The translation cycle, run through babel's own pybabel commands.

extract: the English of `flows/*.yaml` into `locales/messages.pot`; update: that template into each
language's `locales/<code>/LC_MESSAGES/messages.po` (created when missing); compile: `.mo` files,
which the bot does not need (it reads the `.po` files) but other gettext tools do.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import BaseError, CommandMixin, CompileCatalog, UpdateCatalog
from babel.messages.pofile import PoFileError, read_po, write_po

from bot.errors import BotError
from bot.flows.spec import Settings

DOMAIN = "messages"
# The same function as the `flows` entry point, named by module so it works before the package is installed.
METHOD = "bot.i18n.extract:extract_flows"
MAPPING = (("**.yaml", METHOD),)
WIDTH = 76
HEADER = """\
# Translations template for PROJECT: the English text of flows/*.yaml.
# Refresh with `python -m bot i18n update`, then translate with any .po editor (e.g. Poedit).
#"""


class I18nError(BotError):
    """A translation command cannot run; the message is one line that says how to fix it."""


@dataclass(frozen=True, slots=True)
class Template:
    """The written `messages.pot`: how many texts it holds, and whether it changed."""

    path: Path
    strings: int
    changed: bool


@dataclass(frozen=True, slots=True)
class Written:
    """A catalog file a command wrote: new, changed, or left as it was."""

    path: Path
    created: bool
    changed: bool


def template_path(locales_dir: Path) -> Path:
    """`locales/messages.pot`."""
    return locales_dir / f"{DOMAIN}.pot"


def catalog_path(locales_dir: Path, code: str) -> Path:
    """`locales/<code>/LC_MESSAGES/messages.po`."""
    return locales_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def present_catalogs(locales_dir: Path) -> tuple[str, ...]:
    """Codes that have a `.po` catalog under `locales_dir`, sorted."""
    if not locales_dir.is_dir():
        return ()
    return tuple(sorted(path.parent.parent.name for path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when inside it (`locales/ro/...`), else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build_template(flows_dir: Path) -> Catalog:
    """Every translatable text of the flows, with `flows/<file>:<line>` locations and translator notes."""
    catalog = Catalog(project="Signpost bot", charset="utf-8", header_comment=HEADER)
    extracted = extract_from_dir(str(flows_dir), MAPPING, keywords={}, comment_tags=())
    for filename, line, message, comments, context in extracted:
        catalog.add(message, None, [(f"{flows_dir.name}/{filename}", line)], auto_comments=comments, context=context)
    return catalog


def write_template(flows_dir: Path, locales_dir: Path) -> Template:
    """Write `locales/messages.pot`; an unchanged template keeps its date, so git sees no change."""
    catalog = build_template(flows_dir)
    path = template_path(locales_dir)
    if path.is_file():
        try:
            with path.open("rb") as handle:
                catalog.creation_date = read_po(handle).creation_date
            if _render(catalog) == path.read_bytes():
                return Template(path, len(catalog), False)
        except Exception:  # an unreadable old template is simply replaced
            pass
        catalog.creation_date = Catalog().creation_date
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_render(catalog))
    except OSError as exc:
        raise I18nError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Template(path, len(catalog), True)


def update_catalog(locales_dir: Path, code: str) -> Written:
    """`pybabel update --init-missing` for one language, from the template written just before."""
    path = catalog_path(locales_dir, code)
    created = not path.exists()
    before = path.read_bytes() if not created else b""
    _run(
        UpdateCatalog(),
        input_file=str(template_path(locales_dir)),
        output_dir=str(locales_dir),
        locale=code,
        domain=DOMAIN,
        init_missing=True,
        ignore_obsolete=True,  # git keeps the history; stale entries would only confuse translators
        previous=True,  # a changed English text shows its old version next to the fuzzy guess
        ignore_pot_creation_date=True,
        width=WIDTH,
    )
    return Written(path, created, created or path.read_bytes() != before)


def compile_catalog(locales_dir: Path, code: str) -> Written:
    """`pybabel compile` for one language: `.mo` beside the `.po`, fuzzy entries left out."""
    path = catalog_path(locales_dir, code)
    if not path.is_file():
        raise I18nError(f"{path} does not exist: run `python -m bot i18n update --locale {code}` first")
    mo = path.with_suffix(".mo")
    created = not mo.exists()
    errors = _run(CompileCatalog(), directory=str(locales_dir), locale=code, domain=DOMAIN)
    if errors:
        raise I18nError(f"{errors[0]} ({len(errors)} problem(s) in {path})")
    return Written(mo, created, True)


def language_code(code: str, settings: Settings) -> str:
    """Check a `--locale` value: a known locale, not the default language, spelt as settings.yaml spells it."""
    if code == settings.default_language:
        raise I18nError(f"`{code}` is the default language: its text is the English in flows/, it needs no catalog")
    spelt = {known.lower().replace("-", "_"): known for known in settings.languages}
    wanted = code.lower().replace("-", "_")
    if wanted in spelt and spelt[wanted] != code:
        raise I18nError(f"write `{spelt[wanted]}` as in settings.yaml, not `{code}`")
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        raise I18nError(f"`{code}` is not a language code babel knows; use e.g. ro, pt_BR, zh_Hans") from None
    return code


def languages_to_update(settings: Settings, locales_dir: Path) -> tuple[str, ...]:
    """Offered languages except the default, then any language already being prepared in `locales/`."""
    offered = [code for code in settings.languages if code != settings.default_language]
    prepared = [code for code in present_catalogs(locales_dir) if code not in offered and code != settings.default_language]
    return (*offered, *prepared)


def _render(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH)
    return buffer.getvalue()


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage().removeprefix("error: "))


def _run(command: CommandMixin, **options: object) -> list[str]:
    """Run a pybabel command with these options; returns the errors it logged, raises I18nError if it fails."""
    collect = _Collect()
    log = logging.Logger("babel.frontend")  # private and unregistered: pybabel's chatter goes nowhere
    log.addHandler(collect)
    command.log = log
    for name, value in options.items():
        setattr(command, name, value)
    try:
        command.finalize_options()
        command.run()
    except (BaseError, PoFileError, UnknownLocaleError, ValueError) as exc:
        raise I18nError(f"babel: {exc}") from None
    except OSError as exc:
        raise I18nError(f"cannot write {exc.filename or 'a catalog'}: {exc.strerror or exc}") from None
    return [error for error in collect.errors if not error.endswith("errors encountered.")]
