"""Matching what people type: case-, accent-, punctuation- and spacing-insensitive."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

T = TypeVar("T")

# Scripts written without spaces between words: a keyword matches anywhere inside the text.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _strips_marks(base: str) -> bool:
    # Accents are dropped only on Latin, Greek and Cyrillic letters: in Thai, say, the marks are
    # vowels and tones that change the word.
    return base < "\u0530"


@functools.lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Fold case and accents, turn punctuation into spaces, collapse spacing."""
    return _fold(text, strip_accents=True)


@functools.lru_cache(maxsize=4096)
def fold_case(text: str) -> str:
    """Like `normalise`, but accents stay: an accented word is never an English keyword ("ști" is not "sti")."""
    return _fold(text, strip_accents=False)


def _fold(text: str, strip_accents: bool) -> str:
    out: list[str] = []
    previous = " "
    for char in unicodedata.normalize("NFKD", text.casefold()):
        category = unicodedata.category(char)
        if category[0] == "M":
            if strip_accents and _strips_marks(previous):
                continue
            out.append(char)
            continue
        if category[0] in "LN":
            out.append(char)
            previous = char
        else:
            if out and out[-1] != " ":
                out.append(" ")
            previous = " "
    return "".join(out).strip()


def _pattern(keyword: str) -> str:
    escaped = re.escape(keyword)
    if _UNSPACED.search(keyword):
        return escaped
    return rf"(?:^|(?<= )){escaped}(?=$| )"


Words = Mapping[str, Iterable[str]]  # per language, the keywords (or phrases) written for it


@dataclass(frozen=True, slots=True)
class _Compiled(Generic[T]):
    """One item's patterns in one language: its own words (matched on accent-folded text), the `extra`
    language's words (matched on text that keeps its accents), and the phrases each kind doesn't count in."""

    item: T
    own: re.Pattern[str] | None
    borrowed: re.Pattern[str] | None
    own_not_in: re.Pattern[str] | None
    borrowed_not_in: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class KeywordIndex(Generic[T]):
    """Items (e.g. triggers) in priority order, each with compiled patterns per language."""

    patterns: Mapping[str, tuple[_Compiled[T], ...]]
    fallback: str | None = None  # whose patterns a language without its own uses

    @classmethod
    def build(
        cls,
        items: Sequence[tuple[T, Words] | tuple[T, Words, Words]],
        languages: Iterable[str],
        extra: str | None = None,
    ) -> KeywordIndex[T]:
        """Compile keywords per language; `extra` names a language whose keywords every language also matches.

        An item may come with a third mapping: phrases its keywords don't count inside ("emergency
        contraception" for the crisis word "emergency").
        """
        every = set(languages) | {lang for entry in items for lang in entry[1]} | ({extra} if extra else set())
        patterns: dict[str, tuple[_Compiled[T], ...]] = {}
        for lang in every:
            compiled = []
            for entry in items:
                item, words = entry[0], entry[1]
                not_in: Words = entry[2] if len(entry) == 3 else {}
                own, borrowed = _split(words, lang, extra)
                if own or borrowed:
                    own_not, borrowed_not = _split(not_in, lang, extra)
                    compiled.append(
                        _Compiled(item, _compile(own), _compile(borrowed), _compile(own_not), _compile(borrowed_not))
                    )
            patterns[lang] = tuple(compiled)
        return cls(MappingProxyType(patterns), extra)

    def first_match(self, language: str, normalised_text: str, accented_text: str | None = None) -> T | None:
        """The highest-priority item with a keyword in the (already normalised) text.

        `accented_text` is the same text folded with `fold_case`; borrowed (English) keywords are
        matched on it, so a word written with accents in another language never counts as one.
        """
        patterns = self.patterns.get(language)
        if patterns is None and self.fallback is not None:
            patterns = self.patterns.get(self.fallback, ())
        borrowed_text = normalised_text if accented_text is None else accented_text
        for entry in patterns or ():
            if _found(entry.own, entry.own_not_in, normalised_text):
                return entry.item
            if _found(entry.borrowed, entry.borrowed_not_in, borrowed_text):
                return entry.item
        return None


def _split(words: Words, lang: str, extra: str | None) -> tuple[set[str], set[str]]:
    """A language's own words, and the `extra` language's words it also matches."""
    own = {normalise(w) for w in words.get(lang, ())} - {""}
    borrowed: set[str] = set()
    if extra and extra != lang:
        borrowed = {normalise(w) for w in words.get(extra, ())} - {""} - own
    return own, borrowed


def _found(pattern: re.Pattern[str] | None, not_in: re.Pattern[str] | None, text: str) -> bool:
    """Whether a keyword occurs in `text` outside every phrase it doesn't count in."""
    if pattern is None:
        return False
    if not_in is None:
        return pattern.search(text) is not None
    holes = [m.span() for m in not_in.finditer(text)]
    return any(not any(start <= m.start() and m.end() <= end for start, end in holes) for m in pattern.finditer(text))


def _compile(keys: set[str]) -> re.Pattern[str] | None:
    if not keys:
        return None
    return re.compile("|".join(_pattern(k) for k in sorted(keys, key=len, reverse=True)))
