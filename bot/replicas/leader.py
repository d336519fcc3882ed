"""Elections by PostgreSQL advisory lock: the replica holding the lock leads until its connection ends.

The lock is a transaction's lock, on a connection of its own whose transaction stays open while this
replica leads (it takes no snapshot between statements, so it holds back no VACUUM). A replica that dies
or loses the database ends that transaction, which lets the lock go at once, and another takes it at
its next try. PgBouncer in transaction mode keeps one server connection for an open transaction, so the
lock means the same behind it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket

import psycopg

log = logging.getLogger(__name__)

POLL_LOCK = 7_310_221_406  # the replica that long-polls Telegram
CHORES_LOCK = 7_310_221_407  # the replica that runs the case tick, the daily purge and the inbox's clean-up
CONNECT_TIMEOUT = 10


class Election:
    """One advisory lock, tried for and held on a dedicated connection."""

    def __init__(self, url: str, lock: int, what: str) -> None:
        self.url = url
        self.lock = lock
        self.what = what  # for the log: "polling", "chores"
        self._connection: psycopg.AsyncConnection[object] | None = None

    @property
    def leading(self) -> bool:
        """Whether this replica held the lock at the last look."""
        return self._connection is not None

    async def try_lead(self) -> bool:
        """Take the lock if it is free, or check it is still held; True while this replica leads."""
        if self._connection is not None:
            try:
                await self._connection.execute("SELECT 1")
                return True
            except psycopg.Error:
                log.warning("lost the %s lead (the database connection ended)", self.what)
                await self.resign()
                return False
        try:
            connection = await psycopg.AsyncConnection.connect(
                self.url,
                prepare_threshold=None,
                connect_timeout=CONNECT_TIMEOUT,
                application_name=f"bot {self.what} {socket.gethostname()}:{os.getpid()}",  # who leads, for operators
            )
        except psycopg.Error as exc:
            log.warning("cannot reach the database to try the %s lead: %s", self.what, type(exc).__name__)
            return False
        try:
            # Not autocommit: this statement opens the transaction that holds the lock while this replica leads.
            row = await (await connection.execute("SELECT pg_try_advisory_xact_lock(%s)", (self.lock,))).fetchone()
        except psycopg.Error:
            row = None
        if not row or not row[0]:
            await connection.close()
            return False
        self._connection = connection
        log.info("this replica leads %s", self.what)
        return True

    async def resign(self) -> None:
        """Let the lock go (closing its connection releases it)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()
