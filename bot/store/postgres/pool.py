"""Opening a pool of connections to PostgreSQL, the same way for the store and the replicas' own pools."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from bot.store.base import StoreError

CONNECT_TIMEOUT = 10  # seconds


async def open_pool(
    url: str,
    name: str,
    what: str,
    *,
    max_size: int,
    min_size: int = 1,
    wait: float = CONNECT_TIMEOUT,
    options: dict[str, Any] | None = None,
) -> AsyncConnectionPool[Any]:
    """An open pool of unprepared (PgBouncer-safe) connections; StoreError naming `what` if it can't connect.

    `wait` is how long a caller may wait for a free connection once the pool is open.
    """
    kwargs: dict[str, Any] = {"prepare_threshold": None, **(options or {})}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, kwargs=kwargs, min_size=min_size, max_size=max_size, open=False, timeout=wait, name=name
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        await pool.close()
        raise StoreError(f"cannot open {what}: {type(exc).__name__}") from None
    return pool
