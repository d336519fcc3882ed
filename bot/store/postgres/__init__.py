"""The PostgreSQL backend (psycopg 3, async): the same tables and promises as SQLite, for several replicas.

Stored per session, as in SQLite: key, node, locale, back-stack, last-seen day, nation, misses. Nothing else.

Every statement is sent unprepared (`prepare_threshold=None`), so the store works behind PgBouncer in
transaction mode, where consecutive statements may reach different server connections. Connections run
in autocommit, and each change is one statement where it can be (data-modifying CTEs), so a turn's write
is one round trip and atomic on its own; the few that need two statements run in one transaction.
Concurrent changes to one case are settled by the server: a claim is `UPDATE … WHERE claimed IS NULL`,
which a second claimer re-checks after the first commits, so exactly one wins on any number of replicas.

Deleted rows leave every query (and `pg_dump`) the moment their statement commits; the bytes of a
deleted row stay in the table's data file until VACUUM reclaims the space and later writes reuse it, and
in the WAL until the server recycles the segment. A VACUUM runs a second after deletions; the server's own disk
(encrypted, see docs/deploy.md) covers the rest, as the sealed case link does for the address itself.

The store is composed of one class per concern (turns.py, counters.py, secret.py, cases.py, relays.py,
blocks.py) over a shared core (core.py: the pool, statements, VACUUM); schema.py holds the migrations.
"""

from __future__ import annotations

from bot.store.postgres.blocks import PostgresBlocks
from bot.store.postgres.cases import PostgresCases
from bot.store.postgres.counters import PostgresCounters
from bot.store.postgres.relays import PostgresRelays
from bot.store.postgres.schema import MIGRATIONS
from bot.store.postgres.secret import PostgresSecret
from bot.store.postgres.turns import PostgresTurns

__all__ = ["MIGRATIONS", "PostgresStore"]


class PostgresStore(PostgresTurns, PostgresCounters, PostgresSecret, PostgresCases, PostgresRelays, PostgresBlocks):
    """The store in a PostgreSQL database, shared by every replica of the bot."""
