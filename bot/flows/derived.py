"""Values derived from one flow set on first use, each under a typed key (as aiohttp's `AppKey`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


class DerivedKey(Generic[T]):
    """Names one derived value and, through its type parameter, says what type it is."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"DerivedKey({self.name!r})"


class Derived:
    """The values the engine and the transports derive from a FlowSet (page views, button tags).

    A FlowSet never changes, so nothing here goes stale; a new FlowSet (a reload, new translations)
    starts with an empty one.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[DerivedKey[Any], Any] = {}

    def get(self, key: DerivedKey[T], build: Callable[[], T]) -> T:
        """The value under `key`, built by `build` the first time it is asked for."""
        if key in self._values:
            return cast(T, self._values[key])
        value = self._values[key] = build()
        return value
