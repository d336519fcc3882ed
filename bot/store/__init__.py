"""Storage: the interface (base.py) and its backends; `open_store` is the one place a backend is chosen."""

from __future__ import annotations

from pathlib import Path

from bot.store.base import Store, StoreError, Turn, TurnWrite

__all__ = ["Store", "StoreError", "Turn", "TurnWrite", "open_store"]


async def open_store(where: Path | str, *, read_only: bool = False, checkpoints: bool = True) -> Store:
    """Open the store at `where` (an SQLite file, ":memory:", or a postgresql:// URL); raises StoreError with a
    one-line reason.

    `read_only`: look without writing (stats of a live database). `checkpoints=False`: another process
    (the running bot) owns this database's checkpoints.
    """
    if isinstance(where, str) and where.startswith(("postgresql://", "postgres://")):
        from bot.store.postgres import PostgresStore  # only a deployment on PostgreSQL needs psycopg

        return await PostgresStore.open(where, read_only=read_only)
    from bot.store.sqlite import (
        SQLiteStore,  # imported here so the interface loads without the backend
    )

    return await SQLiteStore.open(where, read_only=read_only, checkpoints=checkpoints)
