"""What every doctor check returns: a Finding that passed or a problem with its fix, and the clock checks read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.privacy.keys import Finding

Clock = Callable[[], datetime]


def ok(text: str) -> Finding:
    return Finding(True, text)


def problem(text: str) -> Finding:
    return Finding(False, text)


def utc_now() -> datetime:
    """The clock doctor reads."""
    return datetime.now(UTC)
