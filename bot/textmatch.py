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
    out: list[str] = []
    previous = " "
    for char in unicodedata.normalize("NFKD", text.casefold()):
        category = unicodedata.category(char)
        if category[0] == "M":
            if _strips_marks(previous):
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

    patterns: Mapping[str, tuple[tuple[T, re.Pattern[str]], ...]]
    fallback: str | None = None  # whose patterns a language without its own uses

    @classmethod
    def build(
        cls,
        items: Sequence[tuple[T, Mapping[str, Iterable[str]]]],
        languages: Iterable[str],
        extra: str | None = None,
    ) -> "KeywordIndex[T]":
        """Compile keywords per language; `extra` names a language whose keywords every language also matches."""
        every = set(languages) | {lang for _, words in items for lang in words} | ({extra} if extra else set())
        patterns: dict[str, tuple[tuple[T, re.Pattern[str]], ...]] = {}
        for lang in every:
            compiled = []
            for item, words in items:
                keys = [normalise(w) for w in words.get(lang, ())]
                if extra and extra != lang:
                    keys += [normalise(w) for w in words.get(extra, ())]
                keys = sorted({k for k in keys if k}, key=len, reverse=True)
                if keys:
                    compiled.append((item, re.compile("|".join(_pattern(k) for k in keys))))
            patterns[lang] = tuple(compiled)
        return cls(MappingProxyType(patterns), extra)

    def first_match(self, language: str, normalised_text: str) -> T | None:
        """The highest-priority item with a keyword in the (already normalised) text."""
        patterns = self.patterns.get(language)
        if patterns is None and self.fallback is not None:
            patterns = self.patterns.get(self.fallback, ())
        for item, pattern in patterns or ():
            if pattern.search(normalised_text):
                return item
        return None
