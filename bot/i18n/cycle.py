"""The translation cycle, with babel.

extract: the English of `flows/*.yaml` into `locales/messages.pot`; update: that template into each
language's `locales/<code>/LC_MESSAGES/messages.po` (created when missing); compile (pybabel's own
command): `.mo` files, which the bot does not need (it reads the `.po` files) but other gettext tools do.
The files are written so that git shows only what changed: no line numbers (they shift with every edit
above a text), no tool version, no new dates on an update.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import BaseError, CompileCatalog
from babel.messages.pofile import PoFileError, normalize, write_po

from bot.errors import BotError
from bot.flows import Settings
from bot.i18n.catalog import CatalogError, read_catalog

DOMAIN = "messages"
# The same function as the `flows` entry point, named by module so it works before the package is installed.
METHOD = "bot.i18n.extract:extract_flows"
MAPPING = (("**.yaml", METHOD),)
WIDTH = 76
# babel writes its own version into every header; a new babel would otherwise touch every catalog.
GENERATED_BY = re.compile(rb'^"Generated-By: [^"\n]*"\n', re.MULTILINE)
PREVIOUS_BLOCK = re.compile(rb"(?:^#\| .*\n)+", re.MULTILINE)
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
    """Write `locales/messages.pot`; an existing template keeps its date, so only changed texts show in git."""
    catalog = build_template(flows_dir)
    path = template_path(locales_dir)
    if path.is_file():
        try:
            catalog.creation_date = read_catalog(path).creation_date
            if _render(catalog) == path.read_bytes():
                return Template(path, len(catalog), False)
        except CatalogError:  # an unreadable old template is simply replaced
            pass
    _write(path, _render(catalog))
    return Template(path, len(catalog), True)


def update_catalog(locales_dir: Path, code: str) -> Written:
    """Bring one language's catalog in line with the template written just before (created when missing).

    Like `pybabel update --init-missing --previous`, but quiet: entries are in template order with no
    line numbers, headers keep their dates and name no tool version, and a fuzzy entry keeps its
    `#| msgid` (the old English) from one update to the next. The file is written only if it changes.
    """
    path = catalog_path(locales_dir, code)
    try:
        template = read_catalog(template_path(locales_dir), code)
    except CatalogError as exc:
        raise I18nError(str(exc)) from None
    created = not path.exists()
    before = b"" if created else path.read_bytes()
    if created:
        catalog = template
        catalog.locale = Locale.parse(code)
        catalog.revision_date = datetime.now(UTC)
        catalog.fuzzy = False
    else:
        try:
            catalog = read_catalog(path, code)
        except CatalogError as exc:
            raise I18nError(str(exc)) from None
        previous = {message.id: message.previous_id for message in catalog if message.previous_id}
        catalog.update(template, update_header_comment=False, update_creation_date=False)
        for message in catalog:
            if message.fuzzy and not message.previous_id and message.id in previous:
                message.previous_id = previous[message.id]
        catalog.obsolete.clear()  # git keeps the history; stale entries would only confuse translators
    after = _render(catalog)
    if after != before:
        _write(path, after)
    return Written(path, created, after != before)


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
    prepared = [
        code for code in present_catalogs(locales_dir) if code not in offered and code != settings.default_language
    ]
    return (*offered, *prepared)


def _render(catalog: Catalog) -> bytes:
    """The file's bytes: the same catalog always gives the same bytes, whatever babel version wrote it."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=WIDTH, include_previous=True, ignore_obsolete=True, include_lineno=False)
    return _previous_as_gettext(catalog, GENERATED_BY.sub(b"", buffer.getvalue()))


def _previous_as_gettext(catalog: Catalog, data: bytes) -> bytes:
    """babel wraps a long `#| msgid` as prose (`#| msgid "" "…`), which no reader takes back as the old
    English; rewrite each such block as gettext does, one quoted line per `#| ` line."""
    previous = [message.previous_id[0] for message in catalog if message.id and message.previous_id]
    blocks = PREVIOUS_BLOCK.findall(data)
    if len(blocks) != len(previous):  # not the layout this expects: leave babel's own
        return data
    replacements = iter(
        "".join(f"#| {line}\n" for line in f"msgid {normalize(old, width=WIDTH)}".splitlines()).encode(catalog.charset)
        for old in previous
    )
    return PREVIOUS_BLOCK.sub(lambda _: next(replacements), data)


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise I18nError(f"cannot write {path}: {exc.strerror or exc}") from None


class _Command(Protocol):
    """What `_run` needs of a pybabel command (babel's CommandMixin declares no `run`)."""

    log: logging.Logger

    def finalize_options(self) -> None: ...

    def run(self) -> None: ...


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage().removeprefix("error: "))


def _run(command: _Command, **options: object) -> list[str]:
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
