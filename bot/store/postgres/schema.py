"""The PostgreSQL schema: numbered migrations, and bringing a database's schema up to this code's."""

from __future__ import annotations

from typing import Any

import psycopg

from bot.store.versions import check_version

# Numbered migrations, applied in order and tracked in the schema_version table. Append; never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        key bytea PRIMARY KEY,
        node text,
        locale text,
        back text NOT NULL DEFAULT '',
        day integer NOT NULL,
        nation text,
        misses integer NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_day ON sessions (day);
    CREATE TABLE counters (
        day integer NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (day, kind, name)
    );
    CREATE TABLE monthly_counters (
        month integer NOT NULL,
        kind text NOT NULL,
        name text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (month, kind, name)
    );
    CREATE TABLE secret_check (
        id integer PRIMARY KEY CHECK (id = 1),
        value bytea NOT NULL
    );
    CREATE TABLE cases (
        alias text PRIMARY KEY,
        user_key bytea NOT NULL UNIQUE,
        sealed_chat bytea NOT NULL,
        locale text NOT NULL,
        path text NOT NULL DEFAULT '',
        opened bigint NOT NULL,
        active bigint NOT NULL,
        thread_id bigint UNIQUE,
        claimed bigint,
        staff_alias text,
        nudged boolean NOT NULL DEFAULT false
    );
    CREATE TABLE relays (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        alias text NOT NULL,
        body bytea NOT NULL
    );
    CREATE INDEX relays_alias ON relays (alias, id);
    CREATE TABLE closed_topics (
        thread_id bigint PRIMARY KEY,
        day integer NOT NULL,
        user_key bytea NOT NULL
    );
    CREATE INDEX closed_topics_user ON closed_topics (user_key);
    """,
    # Users staff blocked, by key, until a day (the alias is the case alias staff blocked them from).
    """
    CREATE TABLE blocks (
        user_key bytea PRIMARY KEY,
        alias text,
        until_day integer
    );
    CREATE INDEX blocks_alias ON blocks (alias);
    """,
    # Replicas: each update is stored (sealed) before it is acknowledged, and processed by whichever replica
    # leases its conversation. The turn it causes records, in its own commit, whose state it stepped and
    # from what (stepped_key, before), so a replica re-running it after a crash replies without stepping
    # again. `relayed` counts the copies to or from staff the update has queued, so a re-run queues none twice.
    # A processed update keeps only its key for a day, so a late retry of it is not processed again.
    """
    CREATE TABLE inbox (
        transport text NOT NULL,
        update_id bigint NOT NULL,
        conv bytea,
        body bytea,
        stepped_key bytea,
        before text,
        relayed integer NOT NULL DEFAULT 0,
        received timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (transport, update_id)
    );
    CREATE INDEX inbox_pending ON inbox (conv, update_id) WHERE body IS NOT NULL;
    CREATE INDEX inbox_received ON inbox (received);
    CREATE TABLE leases (
        conv bytea PRIMARY KEY,
        holder text NOT NULL,
        until timestamptz NOT NULL
    );
    """,
)

# Replicas starting together take this lock while they migrate, so one migrates and the others wait.
MIGRATION_LOCK = 7_310_221_405


async def migrate(connection: psycopg.AsyncConnection[Any], shown: str, *, upgrade: bool) -> int:
    """Bring the schema up to date under an advisory lock (one replica migrates); returns the version found."""
    async with connection.transaction():
        if upgrade:
            await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        exists = await (await connection.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
        row = None
        if exists and exists[0]:
            row = await (await connection.execute("SELECT max(version) FROM schema_version")).fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        check_version(version, len(MIGRATIONS), shown, upgrade=upgrade)
        if not upgrade:
            return version
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await connection.execute(script.encode())  # several statements: sent as one simple query
            await connection.execute("DELETE FROM schema_version")
            await connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
        return version
