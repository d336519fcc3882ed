"""Privacy at rest on PostgreSQL: after a closed case and /forget, neither the whole database (as `pg_dump`
writes it) nor the server's log holds anything that identifies the user; with the case open, only the
sealed link does."""

from __future__ import annotations

import io

import psycopg
import pytest

from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.store.postgres import PostgresStore
from tests.fakebotapi import FakeBotAPI
from tests.pg import Cluster
from tests.test_privacy_e2e import CHAT, WORDS, assert_nothing_planted, converse, logs, planted_values
from tests.test_telegram_e2e import running_bot

__all__ = ["logs"]  # the fixture, shared with the SQLite privacy tests

pytestmark = pytest.mark.e2e


def as_dumped(planted: dict[str, bytes]) -> dict[str, bytes]:
    """Each planted value as it is, and as pg_dump writes binary values (bytea as hex)."""
    hexed = {f"{what} (as bytea hex)": value.hex().encode() for what, value in planted.items() if len(value) >= 4}
    return {**planted, **hexed}


def server_log(cluster: Cluster) -> bytes:
    return cluster.log.read_bytes()


async def test_the_whole_postgresql_database_and_its_log_hold_nothing_planted_after_a_closed_case_and_forget(
    pg_cluster: Cluster, pg_url: str, logs: io.StringIO
) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(api, pg_url):  # type: ignore[arg-type]  # open_store takes the URL as it is
            await converse(api, close_case=True)
            during = pg_cluster.dump(pg_url)
        after = pg_cluster.dump(pg_url)
        planted = as_dumped(planted_values(api))
    assert "CREATE TABLE public.cases" in after and "COPY public.counters" in after
    assert_nothing_planted(
        {
            "pg_dump (running)": during.encode(),
            "pg_dump": after.encode(),
            "the server's log": server_log(pg_cluster),
            "the bot's log": logs.getvalue().encode(),
        },
        planted,
    )
    store = await open_store(pg_url)
    try:
        assert await store.session_count() == 0 and await store.open_cases() == []
        await store.scrubbed()
    finally:
        await store.close()


async def test_with_the_case_open_the_postgresql_database_holds_only_the_sealed_link(
    pg_cluster: Cluster, pg_url: str, logs: io.StringIO
) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(api, pg_url):  # type: ignore[arg-type]
            await converse(api, close_case=False)
        dumped = pg_cluster.dump(pg_url)
        planted = as_dumped(planted_values(api))
    assert_nothing_planted({"pg_dump": dumped.encode(), "the server's log": server_log(pg_cluster)}, planted)
    store = await open_store(pg_url)
    try:
        (case,) = await store.open_cases()
    finally:
        await store.close()
    assert Keyring(b"k" * 32).unseal_chat_id(case.sealed_chat, case.alias.encode()) == CHAT


async def test_a_failing_statement_leaves_neither_its_values_nor_its_parameters_in_the_servers_log(
    pg_cluster: Cluster, pg_url: str
) -> None:
    await (await PostgresStore.open(pg_url)).close()  # the tables
    # The same mistake under PostgreSQL's default logging quotes the row: so the search below would see a leak.
    with psycopg.connect(pg_url, autocommit=True) as default_logging:
        default_logging.execute("SET log_error_verbosity = default")
        default_logging.execute("SET log_min_error_statement = error")
        with pytest.raises(psycopg.errors.NotNullViolation):
            default_logging.execute(
                "INSERT INTO cases (alias, user_key, sealed_chat, locale, opened, active) "
                "VALUES ('ERR0', '\\x00', NULL, 'quoted-by-default-logging', 1, 1)"
            )
    assert b"quoted-by-default-logging" in server_log(pg_cluster)
    store = await PostgresStore.open(pg_url)
    try:
        # A row the server refuses (no sealed link), carrying the user's words: PostgreSQL's DETAIL would quote
        # the whole row, and log_min_error_statement the statement with its parameters.
        async with store._connection() as connection:
            with pytest.raises(psycopg.errors.NotNullViolation):
                await connection.execute(
                    "INSERT INTO cases (alias, user_key, sealed_chat, locale, opened, active) "
                    "VALUES (%s, %s, NULL, %s, 1, 1)",
                    ("ERR1", str(CHAT).encode(), WORDS),
                )
    finally:
        await store.close()
    log = server_log(pg_cluster)
    assert b'null value in column "sealed_chat"' in log  # the error itself is logged, for the operator
    for what, value in {
        "the user's words": WORDS.encode(),
        "the chat id": str(CHAT).encode(),
        "the chat id as bytea": str(CHAT).encode().hex().encode(),
    }.items():
        assert value not in log, f"{what} found in the server's log"
