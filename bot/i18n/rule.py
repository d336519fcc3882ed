"""The one rule for translations, the same for `check`, the live reload, start-up and conversation tests.

- A text new or changed in English is shown in English to other languages until it is translated:
  one warning per language lists them, with the `.po` line of each entry.
- A fuzzy translation (the English changed since it was written) keeps the old wording, with a
  warning; the English is shown instead when the old wording would mislead: its numbers or {words}
  differ from the new English, or babel only guessed it from another text still in use.
- A crisis or safety text (see `safety_texts`) with no up-to-date translation is an error: the bot
  does not run flows that would show someone in crisis a page they may not read.
- `strict` (the project's own tests): every text must be translated, so each warning is an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType

from babel.messages.catalog import Catalog, Message

import bot.flows as flowspec
from bot.flows import CRISIS_TRIGGER, Findings, FlowError, FlowSet, Problem
from bot.i18n.catalog import Texts, read_catalog
from bot.i18n.cycle import build_template, catalog_path, shown_path
from bot.i18n.extract import PLACEHOLDER

log = logging.getLogger(__name__)

# The bot's own lines that send someone to help: the {staff} line of the crisis page, the title over
# its service cards, and what a person waiting for staff (or on Signal, without staff) is told.
SAFETY_MESSAGES = (
    "person_now",
    "person_back",
    "person_unknown",
    "services_title",
    "handoff_waiting",
    "signal_handoff_unavailable",
)
SOURCE_LANGUAGE = "en"
SHOWN = 3  # how many texts a line quotes
DIGITS = re.compile(r"\d+")
FIX_NEW = "translate these entries in the .po file (run `python -m bot i18n update` first if they are not there)"


@dataclass(frozen=True, slots=True)
class Translations(Findings):
    """What users will read in each language, and the problems the rule found."""

    texts: Texts
    problems: tuple[Problem, ...]


def safety_texts(flows: FlowSet) -> frozenset[str]:
    """Crisis and safety texts: every page of the crisis flow and every urgent page (their words, buttons
    and service cards), the services shown to someone waiting for staff, and SAFETY_MESSAGES."""
    crisis = next((t for t in flows.triggers if t.id == CRISIS_TRIGGER), None)
    crisis_flow = crisis.goto.split(".", 1)[0] if crisis is not None and crisis.goto else None
    texts: set[str] = set()
    services: set[str] = set(flows.settings.waiting_services)
    for node in flows.nodes.values():
        if not (node.urgent or node.flow == crisis_flow):
            continue
        texts.update(node.say)
        texts.update(choice.label for choice in node.choices)
        if node.next_label:
            texts.add(node.next_label)
        services.update(node.services)
    for sid in services:
        service = flows.services.get(sid)
        if service is not None:
            texts.update(text for text in (service.name, service.about, service.hours) if text)
    texts.update(flows.messages[key] for key in SAFETY_MESSAGES if key in flows.messages)
    return frozenset(text.strip() for text in texts)


def translations(flows: FlowSet, flows_dir: Path, locales_dir: Path, *, strict: bool = False) -> Translations:
    """Apply the rule to every language offered (except the default); raises CatalogError on a broken file."""
    settings = flows.settings
    msgids = tuple(str(m.id) for m in build_template(flows_dir) if m.id)
    safety = safety_texts(flows)
    catalogs: dict[str, Mapping[str, str]] = {}
    problems: list[Problem] = []
    # The flows are written in English (it is the msgid), so English needs no catalog even when another
    # language is the default.
    offered = [code for code in settings.languages if code != settings.default_language and not _is_source(code)]
    for code in _with_catalogs(locales_dir, offered):
        path = catalog_path(locales_dir, code)
        catalog = _read(path, code)
        shown, language_problems = _language(code, msgids, safety, catalog, shown_path(path), strict)
        catalogs[code] = MappingProxyType(shown)
        if code in offered:
            problems.extend(language_problems)
    return Translations(Texts(MappingProxyType(catalogs)), tuple(problems))


def load_translated(
    flows_dir: Path, locales_dir: Path, today: date | None = None, *, strict: bool = False, live: bool = True
) -> FlowSet:
    """Load the flows with their translations under the rule; raises FlowError (with every problem) if the
    rule finds an error and the flows are to go `live` (start-up, reload, publish), or CatalogError."""
    flows = flowspec.load(flows_dir, today)
    result = translations(flows, flows_dir, locales_dir, strict=strict)
    if result.errors and live:
        raise FlowError(list(result.problems))
    if result.warnings:
        log.info("translations: %d warning(s); untranslated texts are shown in English", len(result.warnings))
    return flows.with_texts(result.texts)


def _is_source(code: str) -> bool:
    return code == SOURCE_LANGUAGE or code.startswith(SOURCE_LANGUAGE + "_")


def _with_catalogs(locales_dir: Path, offered: Iterable[str]) -> tuple[str, ...]:
    """Offered languages, then every other catalog (one being prepared, even the default's): all are read."""
    present = (
        sorted(p.parent.parent.name for p in locales_dir.glob("*/LC_MESSAGES/messages.po"))
        if locales_dir.is_dir()
        else []
    )
    offered = tuple(offered)
    return (*offered, *(code for code in present if code not in offered))


def _read(path: Path, code: str) -> Catalog | None:
    return read_catalog(path, code) if path.is_file() else None


def _language(
    code: str, msgids: tuple[str, ...], safety: frozenset[str], catalog: Catalog | None, shown: str, strict: bool
) -> tuple[dict[str, str], list[Problem]]:
    """What `code` users read (msgid -> text), and the problems: one warning for the texts shown in
    English, one for the old wordings kept, and one error per crisis or safety text."""
    live = set(msgids)
    texts: dict[str, str] = {}
    english: list[tuple[str, int]] = []
    kept: list[tuple[str, int]] = []
    problems: list[Problem] = []
    for message in catalog or ():
        if (
            isinstance(message.id, str)
            and message.id
            and isinstance(message.string, str)
            and message.string
            and not message.fuzzy
        ):
            texts[message.id] = message.string
    for msgid in msgids:
        entry = catalog.get(msgid) if catalog is not None else None
        line = (entry.lineno or 0) if entry is not None else 0
        translated = entry is not None and isinstance(entry.string, str) and bool(entry.string.strip())
        if entry is not None and translated and not entry.fuzzy:
            continue
        if msgid in safety:
            problems.append(_safety_problem(code, msgid, shown, line, fuzzy=translated))
        elif entry is not None and translated and _keeps_old_wording(entry, live):
            texts[msgid] = str(entry.string)
            kept.append((msgid, line))
        else:
            english.append((msgid, line))
    severity: flowspec.Severity = "error" if strict else "warning"
    if english:
        problems.append(
            Problem(
                shown,
                english[0][1] or 1,
                code,
                f"{len(english)} text(s) new or changed in English, shown in English until translated: "
                f"{_listed(english)}",
                FIX_NEW,
                severity,
            )
        )
    if kept:
        problems.append(
            Problem(
                shown,
                kept[0][1] or 1,
                code,
                f"{len(kept)} fuzzy translation(s) keep their old wording until reviewed, the English "
                f"changed: {_listed(kept)}",
                "check each against the new English, then delete its `#, fuzzy` line",
                severity,
            )
        )
    return texts, problems


def _keeps_old_wording(message: Message, live: set[str]) -> bool:
    """A fuzzy translation is kept unless it would mislead: other numbers or {words} than the new English,
    or a guess babel made from another text that is still in use (so not an older version of this one)."""
    msgid, string = str(message.id), str(message.string)
    if sorted(DIGITS.findall(msgid)) != sorted(DIGITS.findall(string)):
        return False
    if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(string)):
        return False
    previous = message.previous_id[0] if message.previous_id else None
    return not (previous and previous != msgid and previous in live)


def _safety_problem(code: str, msgid: str, shown: str, line: int, *, fuzzy: bool) -> Problem:
    if fuzzy:
        what = f"the crisis or safety text {_quote(msgid)} changed in English and its translation is fuzzy"
        fix = "update the translation to the new English, then delete its `#, fuzzy` line"
    elif line:
        what = f"the crisis or safety text {_quote(msgid)} is not translated"
        fix = "translate this entry: someone in crisis must be able to read it"
    else:
        what = f"the crisis or safety text {_quote(msgid)} is not in the catalog"
        fix = "run `python -m bot i18n update`, then translate it: someone in crisis must be able to read it"
    return Problem(shown, line or 1, code, what, fix)


def _quote(msgid: str, limit: int = 40) -> str:
    one_line = " ".join(msgid.split())
    return f"“{one_line if len(one_line) <= limit else one_line[: limit - 1] + '…'}”"


def _listed(entries: list[tuple[str, int]]) -> str:
    shown = ", ".join(_quote(msgid) + (f" (line {line})" if line else "") for msgid, line in entries[:SHOWN])
    return shown + (f" and {len(entries) - SHOWN} more" if len(entries) > SHOWN else "")
