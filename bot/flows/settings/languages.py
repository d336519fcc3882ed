"""The languages of settings.yaml: the default one and those offered, each a code babel knows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError

from bot.flows.yamlsource import LineDict, LineList

if TYPE_CHECKING:
    from bot.flows.checker import Checker


def is_locale(code: str) -> bool:
    """True for a language code babel knows (en, ro, pt_BR, zh_Hans ...)."""
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError, TypeError):
        return False
    return True


def parse_languages(ck: Checker, file: str, data: LineDict) -> tuple[str, tuple[str, ...]]:
    """`default_language` and `languages`: the default, and the codes offered (the default alone if none is valid)."""
    default = data.get("default_language", "en")
    if not isinstance(default, str) or not is_locale(default):
        ck.error(
            file,
            data.line_of("default_language"),
            "",
            f"`{default}` is not a language code",
            "use a code like en, ro, pt_BR",
        )
        default = "en"
    langs = data.get("languages", [default])
    if not isinstance(langs, list) or not langs:
        ck.error(file, data.line_of("languages"), "", "`languages` should be a list of codes", "e.g. [en, ro, pt_BR]")
        langs = [default]
    good = []
    for i, code in enumerate(langs):
        if isinstance(code, str) and is_locale(code):
            good.append(code)
        else:
            line = langs.line_of(i) if isinstance(langs, LineList) else data.line_of("languages")
            ck.error(file, line, "", f"`{code}` is not a language code", "use a code like en, ro, pt_BR, zh_Hans")
    if default not in good:
        ck.error(
            file,
            data.line_of("languages"),
            "",
            f"the default language `{default}` is not offered",
            "add it to `languages`",
        )
    return default, tuple(dict.fromkeys(good)) or (default,)
