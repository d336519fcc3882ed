"""What only the PostgreSQL backend has to prove: PgBouncer-safe statements, its migrations, its log settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from bot import config
from bot.config import ConfigError
from bot.engine import State
from bot.handoff.cases import Case
from bot.store import StoreError, TurnWrite, open_store
from bot.store.postgres import PostgresStore
from bot.store.postgres.schema import MIGRATIONS
from tests.pg import Cluster
from tests.store.turns import many_users_take_turns

pytestmark = pytest.mark.e2e  # a real server

KEY = bytes(range(32))


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(pg_url)
    yield opened
    await opened.close()


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(query)
        return cursor.fetchall() if cursor.description else []


async def test_a_postgresql_address_opens_the_postgresql_store_and_sqlite_stays_the_default(pg_url: str) -> None:
    store = await open_store(pg_url)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        await store.close()
    assert config.store_location({"BOT_HOME": "/srv/bot"}) == config.db_path({"BOT_HOME": "/srv/bot"})
    assert config.store_location({"BOT_DATABASE_URL": " postgresql://bot@db/bot "}) == "postgresql://bot@db/bot"


def test_a_database_url_that_is_not_postgresql_is_refused_without_echoing_its_password() -> None:
    with pytest.raises(ConfigError, match="BOT_DATABASE_URL must be a PostgreSQL address") as caught:
        config.database_url({"BOT_DATABASE_URL": "mysql://bot:hunter2@db/bot"})
    assert "hunter2" not in str(caught.value)


async def test_no_statement_is_ever_prepared_so_pgbouncer_in_transaction_mode_is_safe(pg_url: str) -> None:
    # One connection, so every statement of the run went through the session queried at the end.
    store = await PostgresStore.open(pg_url, pool_size=1)
    try:
        await many_users_take_turns(store, users=5, turns=8)
        await store.purge(today=800_000, retention_days=30)
        async with store._connection() as connection:
            cursor = await connection.execute("SELECT count(*) FROM pg_prepared_statements")
            assert await cursor.fetchone() == (0,)
    finally:
        await store.close()


async def test_the_schema_version_is_recorded_and_replicas_starting_together_migrate_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(pg_url, pool_size=2) for _ in range(4)))
    try:
        await asyncio.gather(
            *(s.write_turn(TurnWrite(bytes([i]) * 32, State(day=1), (), 1)) for i, s in enumerate(stores))
        )
        assert await stores[0].session_count() == 4
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert rows(pg_url, "SELECT version FROM schema_version") == [(len(MIGRATIONS),)]


async def test_a_newer_schema_is_refused_and_a_read_only_store_neither_migrates_nor_writes(pg_url: str) -> None:
    with pytest.raises(StoreError, match="older than this code"):
        await PostgresStore.open(pg_url, read_only=True)  # `stats` on a database the bot never started on
    store = await PostgresStore.open(pg_url)
    await store.close()
    reader = await PostgresStore.open(pg_url, read_only=True)
    try:
        assert await reader.session_count() == 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await reader.write_turn(TurnWrite(KEY, State(day=1), (), 1))
    finally:
        await reader.close()
    rows(pg_url, f"UPDATE schema_version SET version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this code"):
        await PostgresStore.open(pg_url)


async def test_a_server_that_cannot_be_reached_is_one_line_without_the_password(pg_cluster: Cluster) -> None:
    url = f"postgresql://bot:hunter2@/nowhere?host={pg_cluster.socket_dir}&port=1&password=hunter3"
    with pytest.raises(StoreError, match="cannot open the database") as caught:
        await open_store(url)
    assert "hunter2" not in str(caught.value) and "hunter3" not in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_the_log_settings_that_keep_people_out_of_the_servers_log_are_checked(pg_url: str) -> None:
    store = await PostgresStore.open(pg_url)
    try:
        assert await store.log_setting_problems() == []  # the test cluster is set up as docs/deploy.md says
    finally:
        await store.close()
    database = pg_url.split("/")[3].split("?")[0]
    rows(pg_url, f"ALTER DATABASE {database} SET log_error_verbosity = 'verbose'")
    rows(pg_url, f"ALTER DATABASE {database} SET log_min_error_statement = 'error'")
    store = await PostgresStore.open(pg_url)
    try:
        assert await store.log_setting_problems() == [
            "log_error_verbosity is 'verbose', not 'terse'",
            "log_min_error_statement is 'error', not 'panic'",
        ]
    finally:
        await store.close()


async def test_a_deletion_is_followed_by_one_vacuum_shared_with_the_deletions_close_to_it(store: PostgresStore) -> None:
    await store.write_turn(TurnWrite(KEY, State(day=1), (), 1))
    await store.write_turn(TurnWrite(KEY, None))  # forgotten
    await store.delete(bytes(32))
    await store.scrubbed()
    assert store.vacuums == 1
    assert await store.load_turn(KEY) == (await store.load_turn(bytes(32)))


async def test_staff_on_three_replicas_racing_for_one_case_claim_it_once(pg_url: str) -> None:
    replicas = [await PostgresStore.open(pg_url, pool_size=4) for _ in range(3)]
    try:
        await replicas[0].insert_case(Case("K7Q2", KEY, b"sealed", "en", (), opened=1, active=1))
        names = [f"Staff{i}" for i in range(12)]
        won = await asyncio.gather(*(replicas[i % 3].claim_case("K7Q2", 10 + i, name) for i, name in enumerate(names)))
        assert sum(won) == 1
        case = await replicas[2].case_by_alias("K7Q2")
        assert case is not None and case.staff_alias == names[won.index(True)]
        # A case closed on one replica is never written back by another.
        assert await replicas[1].remove_case("K7Q2")
        assert not await replicas[0].touch_case("K7Q2", 99) and await replicas[2].open_cases() == []
    finally:
        for replica in replicas:
            await replica.close()


async def test_relays_queued_from_several_replicas_keep_the_limit(pg_url: str) -> None:
    replicas = [await PostgresStore.open(pg_url, pool_size=4) for _ in range(2)]
    try:
        await replicas[0].insert_case(Case("K7Q2", KEY, b"sealed", "en", (), opened=1, active=1))
        added = await asyncio.gather(*(replicas[i % 2].add_relay("K7Q2", bytes([i]), limit=5) for i in range(12)))
        kept = [relay_id for relay_id in added if relay_id is not None]
        assert len(kept) == 5
        assert [relay_id for relay_id, _ in await replicas[1].relays("K7Q2")] == sorted(kept)
    finally:
        for replica in replicas:
            await replica.close()
