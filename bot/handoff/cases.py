"""A handoff case as stored: what routing a live conversation needs, and nothing that identifies anyone.

The user is a pseudonymous key; the chat id is sealed (see bot/privacy/keys/keyring.py) and deleted with the case.
Times are whole minutes, kept only while the case is open (for waiting and expiry).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

# No 0/O, 1/I/L: aliases are read aloud and typed by staff.
ALIAS_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_alias(length: int = 4) -> str:
    """A random case alias such as `K7Q2`."""
    return "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(length))


def minutes(clock_seconds: float) -> int:
    """Whole minutes since the epoch: all the precision a case keeps."""
    return int(clock_seconds // 60)


def moment(minute: int) -> datetime:
    """A case's stored minute as an aware datetime."""
    return datetime.fromtimestamp(minute * 60, UTC)


@dataclass(frozen=True, slots=True)
class Case:
    """One open handoff."""

    alias: str
    user_key: bytes
    sealed_chat: bytes
    locale: str
    path: tuple[str, ...]
    opened: int  # minutes since the epoch
    active: int  # last message either way, minutes since the epoch
    thread_id: int | None = None
    claimed: int | None = None
    staff_alias: str | None = None
    nudged: bool = False
