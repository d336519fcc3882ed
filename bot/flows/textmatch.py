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


@dataclass(frozen=True, slots=True)
class KeywordIndex(Generic[T]):
    """Items (e.g. triggers) in priority order, each with one compiled pattern per language."""

    # Per language, per item: the pattern of its own keywords (matched on accent-folded text) and the
    # pattern of the `extra` language's keywords (matched on text that keeps its accents), or None.
    patterns: Mapping[str, tuple[tuple[T, re.Pattern[str] | None, re.Pattern[str] | None], ...]]
    fallback: str | None = None  # whose patterns a language without its own uses

    @classmethod
    def build(
        cls,
        items: Sequence[tuple[T, Mapping[str, Iterable[str]]]],
        languages: Iterable[str],
        extra: str | None = None,
    ) -> KeywordIndex[T]:
        """Compile keywords per language; `extra` names a language whose keywords every language also matches."""
        every = set(languages) | {lang for _, words in items for lang in words} | ({extra} if extra else set())
        patterns: dict[str, tuple[tuple[T, re.Pattern[str] | None, re.Pattern[str] | None], ...]] = {}
        for lang in every:
            compiled = []
            for item, words in items:
                own = {normalise(w) for w in words.get(lang, ())} - {""}
                borrowed: set[str] = set()
                if extra and extra != lang:
                    borrowed = {normalise(w) for w in words.get(extra, ())} - {""} - own
                if own or borrowed:
                    compiled.append((item, _compile(own), _compile(borrowed)))
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
        for item, own, borrowed in patterns or ():
            if own is not None and own.search(normalised_text):
                return item
            if borrowed is not None and borrowed.search(borrowed_text):
                return item
        return None


def _compile(keys: set[str]) -> re.Pattern[str] | None:
    if not keys:
        return None
    return re.compile("|".join(_pattern(k) for k in sorted(keys, key=len, reverse=True)))
