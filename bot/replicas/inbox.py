"""The inbox and the leases, in SQL: updates stored before they are acknowledged, conversations leased out.

A pending update holds its conversation's key and its sealed body (and, once its turn is stored, whose
state that turn stepped and from what: bot/replicas/store.py). Once processed all are cleared and
only (transport, update_id) stays, for a day, so a retry of it (Telegram's, or a new poll leader asking
again from an unconfirmed offset) is recognised and dropped. A conversation is free when it has no lease
row or its lease has run out; a claim takes a free one in one statement the server settles, so two
replicas never hold the same conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bot.store.postgres.pool import open_pool

CHANNEL = "bot_inbox"  # NOTIFY channel: a new update is waiting
KEPT_DAYS = 1  # processed updates' keys are kept this long (Telegram keeps an update for 24 hours)

ADD = (
    "INSERT INTO inbox (transport, update_id, conv, body) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (transport, update_id) DO NOTHING"
)
# The oldest pending update whose conversation is free; its row is locked (SKIP LOCKED, so claimers
# racing each other look at different rows), then the lease itself decides: the INSERT takes a new lease
# or an expired one, and a second claimer of the same conversation waits for the first and finds it taken.
CANDIDATE = (
    "SELECT i.conv FROM inbox AS i WHERE i.body IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM leases AS l WHERE l.conv = i.conv AND l.until >= now()) "
    "ORDER BY i.received, i.update_id LIMIT 1 FOR UPDATE OF i SKIP LOCKED"
)
TAKE_LEASE = (
    "INSERT INTO leases (conv, holder, until) VALUES (%(conv)s, %(holder)s, now() + %(seconds)s * interval '1 second') "
    "ON CONFLICT (conv) DO UPDATE SET holder = excluded.holder, until = excluded.until "
    "WHERE leases.until < now() RETURNING conv"
)
RENEW = (
    "UPDATE leases SET until = now() + %(seconds)s * interval '1 second' "
    "WHERE conv = %(conv)s AND holder = %(holder)s AND until >= now()"
)
NEXT = "SELECT transport, update_id, body FROM inbox WHERE conv = %s AND body IS NOT NULL ORDER BY update_id LIMIT 1"
FINISH = (
    "UPDATE inbox SET conv = NULL, body = NULL, stepped_key = NULL, before = NULL "
    "WHERE transport = %s AND update_id = %s AND body IS NOT NULL"
)
RELEASE = "DELETE FROM leases WHERE conv = %s AND holder = %s"
FORGET = "DELETE FROM inbox WHERE body IS NULL AND received < now() - %s * interval '1 day'"


@dataclass(frozen=True, slots=True)
class Pending:
    """One stored update waiting to be processed."""

    transport: str
    update_id: int
    body: bytes


class Inbox:
    """The inbox and lease tables of one database, over a small pool of its own."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: str, size: int = 4) -> Inbox:
        """Open a pool on `url` (the store has already migrated the schema)."""
        pool = await open_pool(url, "bot-inbox", "the inbox", max_size=size, options={"autocommit": True})
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def add(self, transport: str, update_id: int, conv: bytes, body: bytes) -> bool:
        """Store an update unless it is already there (pending or processed); True when new. Returns once committed."""
        async with self._pool.connection() as connection, connection.transaction():
            cursor = await connection.execute(ADD, (transport, update_id, conv, body))
            if cursor.rowcount == 1:
                await connection.execute(f"NOTIFY {CHANNEL}")  # delivered at the commit
        return cursor.rowcount == 1

    async def claim(self, holder: str, seconds: float) -> bytes | None:
        """Lease the conversation of the oldest pending update nobody holds; None when there is none free."""
        async with self._pool.connection() as connection, connection.transaction():
            row = await (await connection.execute(CANDIDATE)).fetchone()
            if row is None:
                return None
            conv = bytes(row[0])
            taken = await connection.execute(TAKE_LEASE, {"conv": conv, "holder": holder, "seconds": seconds})
            return conv if await taken.fetchone() is not None else None

    async def renew(self, conv: bytes, holder: str, seconds: float) -> bool:
        """Extend a lease still held; False when it ran out (another replica may have it now)."""
        async with self._pool.connection() as connection:
            cursor = await connection.execute(RENEW, {"conv": conv, "holder": holder, "seconds": seconds})
            return cursor.rowcount == 1

    async def next(self, conv: bytes) -> Pending | None:
        """The conversation's first pending update (lowest update id), or None when it has none."""
        async with self._pool.connection() as connection:
            row = await (await connection.execute(NEXT, (conv,))).fetchone()
        return None if row is None else Pending(str(row[0]), int(row[1]), bytes(row[2]))

    async def finish(self, transport: str, update_id: int) -> bool:
        """Mark an update processed (its body and conversation cleared); False when it already was."""
        async with self._pool.connection() as connection:
            return (await connection.execute(FINISH, (transport, update_id))).rowcount == 1

    async def release(self, conv: bytes, holder: str) -> None:
        """Give a conversation's lease back (an update arriving later makes it claimable again)."""
        async with self._pool.connection() as connection:
            await connection.execute(RELEASE, (conv, holder))

    async def forget_processed(self, days: int = KEPT_DAYS) -> int:
        """Delete the keys of updates processed more than `days` ago; returns how many."""
        async with self._pool.connection() as connection:
            return (await connection.execute(FORGET, (days,))).rowcount

    async def pending(self) -> int:
        """How many updates wait to be processed."""
        async with self._pool.connection() as connection:
            row = await (await connection.execute("SELECT count(*) FROM inbox WHERE body IS NOT NULL")).fetchone()
        return int(row[0]) if row else 0
