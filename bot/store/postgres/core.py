"""The PostgreSQL store's core: the pool, statements counted in flight, VACUUM after deletions, closing.

Every concern's methods (turns.py, counters.py, cases.py, ...) run statements through `_rows`, `_changed`
or `_connection`, and call `note_deletion` after deleting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from bot.privacy.logredact import redact_url
from bot.store.base import Store, StoreError
from bot.store.postgres.pool import CONNECT_TIMEOUT, open_pool
from bot.store.postgres.schema import migrate

POOL_MIN, POOL_MAX = 1, 10
VACUUM_DELAY = 1.0  # seconds between a deletion and the VACUUM that reclaims its row's space
PEOPLES_TABLES = ("sessions", "cases", "relays", "closed_topics", "blocks")
# The server settings that keep people's data out of its log (docs/deploy.md); `doctor` compares them.
PRIVATE_LOG_SETTINGS = {
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
    "log_parameter_max_length_on_error": "0",
}

log = logging.getLogger(__name__)


class PostgresCore(Store):
    """What every part of the PostgreSQL store stands on: opening, statements, VACUUM, closing."""

    def __init__(self, pool: AsyncConnectionPool[Any], shown: str, *, read_only: bool = False) -> None:
        self._pool = pool
        self.shown = shown  # the address without its password, for messages
        self.read_only = read_only
        self._deleted = False  # a deletion since the last VACUUM began
        self._vacuum: asyncio.Task[None] | None = None
        self.vacuums = 0  # VACUUM passes run, for tests
        self._closing = False
        self._in_flight = 0  # statements started and not yet finished: close() waits for them
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    async def open(cls, url: str, *, read_only: bool = False, pool_size: int = POOL_MAX) -> Self:
        """Connect, migrate (unless `read_only`) and open a pool; raises StoreError with a one-line reason."""
        shown = redact_url(url).split("?", 1)[0]  # a query may hold a password too (password=…)
        options: dict[str, Any] = {"prepare_threshold": None, "autocommit": True}
        try:
            first = await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT, **options)
            try:
                await migrate(first, shown, upgrade=not read_only)
            finally:
                await first.close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the database {shown}: {_reason(exc)}") from None
        kwargs: dict[str, Any] = dict(options)
        if read_only:
            kwargs["options"] = "-c default_transaction_read_only=on"
        pool = await open_pool(
            url,
            "bot-store",
            f"the database {shown}",
            max_size=pool_size,
            min_size=min(POOL_MIN, pool_size),
            options=kwargs,
        )
        return cls(pool, shown, read_only=read_only)

    # -- statements ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection, counted as in flight until given back (so close() lets it finish)."""
        self._in_flight += 1
        self._idle.clear()
        try:
            async with self._pool.connection() as connection:
                yield connection
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _rows(self, query: str, values: Any = None) -> list[tuple[Any, ...]]:
        async with self._connection() as connection:
            cursor = await connection.execute(query, values)
            return await cursor.fetchall() if cursor.description else []

    async def _changed(self, query: str, values: Any = None) -> int:
        """Run one change; how many rows it changed."""
        async with self._connection() as connection:
            cursor = await connection.execute(query, values)
            return cursor.rowcount

    # -- the server, and the lifecycle ------------------------------------------------------------

    async def log_setting_problems(self) -> list[str]:
        """The server's logging settings that could put people's data in its log (docs/deploy.md)."""
        rows = await self._rows(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(PRIVATE_LOG_SETTINGS),)
        )
        found = {str(name): str(setting) for name, setting in rows}
        return [
            f"{name} is {found.get(name)!r}, not {wanted!r}"
            for name, wanted in PRIVATE_LOG_SETTINGS.items()
            if found.get(name, wanted) != wanted
        ]

    def note_deletion(self) -> None:
        """Have the tables people's rows are deleted from vacuumed shortly; deletions close together share one."""
        self._deleted = True
        if self.read_only or self._closing:
            return  # close() runs the VACUUM due
        if self._vacuum is None or self._vacuum.done():
            self._vacuum = asyncio.get_running_loop().create_task(self._vacuum_soon())

    async def _vacuum_soon(self) -> None:
        while self._deleted:
            await asyncio.sleep(VACUUM_DELAY)
            await self._vacuum_now()

    async def _vacuum_now(self) -> None:
        self._deleted = False
        try:
            async with self._connection() as connection:
                for table in PEOPLES_TABLES:
                    await connection.execute(sql.SQL("VACUUM {}").format(sql.Identifier(table)))
            self.vacuums += 1
        except psycopg.Error as exc:
            log.warning("vacuuming after a deletion failed: %s", type(exc).__name__)  # autovacuum follows

    async def scrubbed(self) -> None:
        """Wait until the VACUUM after the deletions so far has run (it reclaims their rows' space)."""
        while self._vacuum is not None and not self._vacuum.done():
            await asyncio.shield(self._vacuum)

    async def close(self) -> None:
        """Wait for the statements in flight, run the VACUUM due now rather than later, and close."""
        self._closing = True
        if self._vacuum is not None and not self._vacuum.done():
            self._vacuum.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._vacuum
        await self._idle.wait()
        if self._deleted and not self.read_only:
            await self._vacuum_now()
        await self._pool.close()


def _reason(exc: psycopg.Error) -> str:
    """The server's or libpq's first line, which names the problem (never a row: nothing here quotes one)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
