"""`flows/triggers.yaml`: words that work from anywhere; crisis always wins, and words that lead to
support on request say plainly what they ask for."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.flows.checker import NAME, Checker, RawTrigger
from bot.flows.model import Trigger
from bot.flows.settings import is_locale
from bot.flows.textmatch import KeywordIndex, normalise
from bot.flows.yamlsource import LineDict, LineList
from bot.vocabulary import CRISIS_TRIGGER

TRIGGER_KEYS = ("id", "priority", "keywords", "not_in", "goto", "do")
# Words that say nothing about leaving sex work: an exit keyword that is one of them (or a single
# everyday word) would send people to exit support who never asked for it.
# fmt: off
COMMON_WORDS = frozenset({
    "hi", "hello", "hey", "help", "thanks", "thank you", "menu", "ok", "okay", "yes", "no", "stop", "leave",
    "quit", "exit", "out", "work", "job", "change", "tired", "hola", "gracias", "ayuda", "oi", "ola",
    "obrigada", "obrigado", "ajuda", "salut", "buna", "ajutor", "multumesc", "czesc", "pomoc", "dziekuje",
    "szia", "segitseg", "koszonom", "здравей", "помощ", "благодаря", "สวัสดี", "ขอบคุณ", "ช่วย",
    "你好", "谢谢", "帮助", "转行", "上岸", "不干了", "换工作",
})
# fmt: on


def parse_triggers(ck: Checker, path: Path, doc: Any) -> None:
    """Check triggers.yaml's shape and keep each trigger, unchecked, in `ck.raw_triggers`."""
    file = ck.display(path)
    top = ck.mapping(file, 1, "", doc, "triggers.yaml")
    if top is None:
        return
    ck.unknown_keys(file, "", top, ("triggers",), "triggers.yaml")
    items = top.get("triggers")
    if not isinstance(items, LineList):
        ck.error(
            file, top.line_of("triggers"), "", "`triggers` should be a list", "start each trigger with `- id: name`"
        )
        return
    for i, raw in enumerate(items):
        data = ck.mapping(file, items.line_of(i), "trigger", raw, "a trigger")
        if data is not None:
            ck.raw_triggers.append(RawTrigger(file, items.line_of(i), data))


def build_triggers(ck: Checker) -> tuple[Trigger, ...]:
    """Check every trigger whole; the valid ones, highest priority first."""
    triggers: list[Trigger] = []
    seen: dict[str, int] = {}
    for raw in ck.raw_triggers:
        trigger = _trigger(ck, raw, seen)
        if trigger is not None:
            triggers.append(trigger)
    triggers.sort(key=lambda t: -t.priority)
    return tuple(triggers)


def _trigger(ck: Checker, raw: RawTrigger, seen: dict[str, int]) -> Trigger | None:
    data, file = raw.data, raw.file
    tid = data.get("id")
    where = f"trigger {tid}"
    ck.unknown_keys(file, where, data, TRIGGER_KEYS, "a trigger")
    if not isinstance(tid, str) or not NAME.match(tid):
        ck.error(
            file,
            raw.line,
            "trigger",
            "the trigger has no simple `id`",
            "add `id: crisis` (lower-case letters, digits, _)",
        )
        return None
    if tid in seen:
        ck.error(
            file, raw.line, where, f"trigger id `{tid}` is used twice (also line {seen[tid]})", "rename one of them"
        )
        return None
    seen[tid] = raw.line
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        ck.error(
            file,
            data.line_of("priority"),
            where,
            "`priority` should be a whole number",
            "higher numbers are tried first, e.g. 100",
        )
        priority = 0
    # Triggers can point anywhere, so a bare name is resolved against the flows by name.
    goto, do = ck.target(file, raw.line, where, "", data, "a trigger")
    keywords = ck.mapping(file, data.line_of("keywords"), where, data.get("keywords"), "`keywords`")
    words = _keywords(ck, file, where, data, keywords) if keywords is not None else {}
    not_in = _not_in(ck, file, where, data, words)
    if goto or do:
        return Trigger(tid, priority, MappingProxyType(words), goto, do, MappingProxyType(not_in))
    return None


def _not_in(
    ck: Checker, file: str, where: str, data: LineDict, words: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """`not_in`: phrases the trigger's keywords don't count in; each must hold one of them, or it does nothing."""
    if "not_in" not in data:
        return {}
    phrases = ck.mapping(file, data.line_of("not_in"), where, data.get("not_in"), "`not_in`")
    if phrases is None:
        return {}
    found = _keywords(ck, file, where, data, phrases, "not_in")
    default = ck.settings.default_language
    for lang, listed in found.items():
        own = KeywordIndex.build([(0, {lang: words.get(lang, ()), default: words.get(default, ())})], [lang], default)
        for phrase in listed:
            if own.first_match(lang, normalise(phrase)) is None:
                ck.error(
                    file,
                    phrases.line_of(lang),
                    where,
                    f"`not_in` phrase `{phrase}` ({lang}) holds none of this trigger's keywords, so it changes nothing",
                    "list only phrases that contain one of its keywords but mean something else",
                )
    return found


def _keywords(
    ck: Checker, file: str, where: str, data: LineDict, keywords: LineDict, key: str = "keywords"
) -> dict[str, tuple[str, ...]]:
    words: dict[str, tuple[str, ...]] = {}
    label = "keywords" if key == "keywords" else "`not_in` phrases"
    if not keywords:
        ck.error(
            file,
            data.line_of(key),
            where,
            f"the trigger has no {key}" if key == "keywords" else "`not_in` is empty",
            "add e.g. `en: [word, another phrase]`",
        )
    for lang, items in keywords.items():
        line = keywords.line_of(lang)
        if not isinstance(lang, str) or not is_locale(lang):
            ck.error(file, line, where, f"`{lang}` is not a language code", "use a code like en, ro, pt_BR")
            continue
        if lang not in ck.settings.languages:
            ck.warn(
                file,
                line,
                where,
                f"{label} for `{lang}`, which settings.yaml does not offer",
                "add it to `languages` or remove these keywords",
            )
        if not isinstance(items, list) or not items:
            ck.error(file, line, where, f"{label} for `{lang}` should be a non-empty list", "e.g. [help me, in danger]")
            continue
        texts = (
            ck.text(file, items.line_of(i) if isinstance(items, LineList) else line, where, word, "keyword")
            for i, word in enumerate(items)
        )
        words[lang] = tuple(text for text in texts if text)
    return words


def check_trigger_rules(ck: Checker, triggers: tuple[Trigger, ...]) -> None:
    """Crisis always wins, and words into on_request support say plainly what they ask for."""
    lines = {str(raw.data.get("id")): raw for raw in ck.raw_triggers}
    crisis = next((t for t in triggers if t.id == CRISIS_TRIGGER), None)
    for trigger in triggers:
        raw = lines.get(trigger.id)
        file, line = (raw.file, raw.line) if raw else (str(ck.dir / "triggers.yaml"), 1)
        if crisis is not None and trigger is not crisis and trigger.priority >= crisis.priority:
            ck.error(
                file,
                raw.data.line_of("priority") if raw else line,
                f"trigger {trigger.id}",
                f"priority {trigger.priority} is not below crisis ({crisis.priority})",
                f"crisis words must always win: give `{trigger.id}` a priority under {crisis.priority}",
            )
        target = ck.nodes.get(trigger.goto or "")
        if target is None or not target.on_request:
            continue
        for lang, words in trigger.keywords.items():
            for word in words:
                if not plainly_about_leaving(word):
                    ck.error(
                        file,
                        line,
                        f"trigger {trigger.id}",
                        f"keyword `{word}` ({lang}) is a greeting, a common word or a single word, "
                        f"so it would send people to {target.id} who never asked",
                        "a wish to exit is never assumed: use words that say plainly it is about leaving sex work",
                    )


def plainly_about_leaving(word: str) -> bool:
    """False for a greeting or everyday word, or a single word in a language written with spaces."""
    said = normalise(word)
    if said in {normalise(w) for w in COMMON_WORDS}:
        return False
    spaced = not any("\u0e00" <= c <= "\u0e7f" or "\u3040" <= c <= "\u9fff" for c in said)
    return not spaced or " " in said
