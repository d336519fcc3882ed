"""One replica at a time sends a case's relays: a PostgreSQL advisory lock per case, held while draining.

A case's relays are queued by two conversations (the user's and the staff topic's), which may be on two
replicas; each replica's drainer reads the whole queue, so without the lock both would send the same
relay. A drainer waits for the lock, then reads what is still queued: nothing twice, still in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bot.store.postgres.pool import open_pool

POOL_SIZE = 16  # cases drained at once by one replica; more wait for a connection
WAIT_SECONDS = 600.0  # how long a drainer may wait for a connection before it fails (its relays stay queued)


def lock_key(alias: str) -> int:
    """The advisory lock of one case (a signed 64-bit hash of its alias)."""
    return int.from_bytes(hashlib.blake2b(b"relay:" + alias.encode(), digest_size=8).digest(), "big", signed=True)


class RelayLocks:
    """The relay locks of one database, on a pool of their own (a held lock holds its connection)."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, size: int = POOL_SIZE) -> RelayLocks:
        pool = await open_pool(
            url, "bot-relay-locks", "the relay locks", max_size=size, wait=WAIT_SECONDS, options={"autocommit": True}
        )
        return cls(pool)

    @asynccontextmanager
    async def hold(self, alias: str) -> AsyncIterator[None]:
        """Hold the case's lock (waiting while another replica drains it) for the block's duration."""
        # A transaction's lock, held by keeping the transaction open: it ends with the transaction (or the
        # connection), and PgBouncer in transaction mode keeps the one server connection for it meanwhile.
        async with self._pool.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(alias),))
            yield

    async def close(self) -> None:
        await self._pool.close()
