"""Where a case's user is: their messenger and their id there, e.g. `telegram:123` or `signal:<ACI UUID>`.

The address is what a case keeps sealed (bot/privacy/keys/keyring.py) and what picks the messenger that
speaks to the user (bot/handoff/messengers.py). It is never logged and never shown to staff.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Address:
    """A user's address: `transport` names the messenger, `user` is their id on it (a chat id, a UUID)."""

    transport: str
    user: str

    def __str__(self) -> str:
        return f"{self.transport}:{self.user}"

    def __repr__(self) -> str:
        return f"Address({self.transport}:…)"  # an id must not reach a log through a repr

    @classmethod
    def of(cls, transport: str, user: int | str) -> Address:
        """The address of `user` on `transport`."""
        return cls(transport, str(user))

    @classmethod
    def parse(cls, text: str | None) -> Address | None:
        """An address from its `transport:user` form, or None for anything else."""
        transport, separator, user = (text or "").partition(":")
        if not separator or not transport or not user:
            return None
        return cls(transport, user)
