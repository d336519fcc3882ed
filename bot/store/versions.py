"""Schema versions: a database newer than the code is refused, and so is an older one for a read-only look."""

from __future__ import annotations

from bot.store.base import StoreError


def check_version(version: int, latest: int, shown: str, *, upgrade: bool) -> None:
    """Raise StoreError unless a database at schema `version` can be used by code at `latest`.

    `upgrade`: this opening migrates, so an older schema is fine; a read-only one cannot bring it up to date.
    """
    if version > latest:
        raise StoreError(
            f"cannot open the database {shown}: its schema (version {version}) is newer than this code "
            f"(version {latest}); upgrade the bot"
        )
    if not upgrade and version < latest:
        raise StoreError(
            f"cannot read the database {shown}: its schema (version {version}) is older than this code's "
            f"(version {latest}); start the bot once to upgrade it"
        )
