"""Blocks, as every backend keeps them: staff block a user for a while; the purge and forgetting lift them.

Backends gain blocks one at a time; a backend without them yet is skipped here, not failed.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.store import Store

KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _has_blocks(store: Store) -> None:
    if not all(hasattr(store, name) for name in ("block", "blocked_until", "unblock", "blocked_count")):
        pytest.skip(f"{type(store).__name__} keeps no blocks yet")


async def test_a_block_holds_until_its_day_and_is_lifted_by_alias(store: Any) -> None:
    other = bytes(32)
    await store.block(KEY, "K7Q2", until_day=110)
    await store.block(other, "ZZ99", until_day=90)
    assert await store.blocked_until(KEY) == 110 and await store.blocked_until(bytes([5]) * 32) is None
    assert await store.blocked_count(today=100) == 1
    await store.block(KEY, "K7Q2", until_day=120)  # blocked again: the day moves on
    assert await store.blocked_until(KEY) == 120
    assert await store.unblock("K7Q2") and not await store.unblock("K7Q2")
    assert await store.blocked_until(KEY) is None


async def test_the_purge_drops_blocks_that_ran_out_and_forgetting_drops_the_users_block(store: Any) -> None:
    other = bytes(32)
    await store.block(KEY, "K7Q2", until_day=99)
    await store.block(other, "ZZ99", until_day=100)
    await store.purge(today=100, retention_days=30)
    assert await store.blocked_until(KEY) is None and await store.blocked_until(other) == 100
    await store.delete(other)
    assert await store.blocked_until(other) is None and await store.blocked_count(today=0) == 0
