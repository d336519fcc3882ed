"""The SQLite backend: sessions keyed by pseudonymous keys, daily counters, cases, relays, closed topics.

Stored per session: key, node, locale, back-stack, last-seen day, nation if given, misses in a row.
Nothing else, by design.

Nothing runs on the event loop's thread: every statement, commit and checkpoint runs on aiosqlite's
thread (or a worker thread for checkpoints). A hop to that thread costs far more than the microseconds of
work in a point read or a one-row write, so hops are few: a turn reads once (state and case in one
SELECT, on a reading connection of its own, so reads go on while a write waits for the lock) and its
write joins every other turn's in one transaction on the writing connection (group commit,
bot/store/groupcommit.py); reads waiting at the same moment share a hop too. The bot's connection never
checkpoints on its own (wal_autocheckpoint=0):
PASSIVE checkpoints run in the background, and the WAL is cut back to `journal_size_limit` when it restarts.

A deleted row lives on in older WAL frames (`secure_delete` scrubs only the database pages), so every
deletion schedules a checkpoint that truncates the WAL a moment later, on a worker thread with its
own connection; deletions close together share one.

The store is composed of one class per concern (turns.py, counters.py, secret.py, cases.py, relays.py,
blocks.py) over a shared core (core.py: connections, group commit, the WAL); schema.py holds the migrations.
"""

from __future__ import annotations

from bot.store.base import DAILY_DAYS, StoreError, month_of, month_start
from bot.store.sqlite.blocks import SQLiteBlocks
from bot.store.sqlite.cases import SQLiteCases
from bot.store.sqlite.connection import BUSY_TIMEOUT_MS, COMPANIONS, JOURNAL_SIZE_LIMIT, on_thread
from bot.store.sqlite.counters import SQLiteCounters
from bot.store.sqlite.relays import SQLiteRelays
from bot.store.sqlite.schema import MIGRATIONS
from bot.store.sqlite.secret import SQLiteSecret
from bot.store.sqlite.turns import SQLiteTurns

__all__ = [
    "BUSY_TIMEOUT_MS",
    "COMPANIONS",
    "DAILY_DAYS",
    "JOURNAL_SIZE_LIMIT",
    "MIGRATIONS",
    "SQLiteStore",
    "StoreError",
    "month_of",
    "month_start",
    "on_thread",
]


class SQLiteStore(SQLiteTurns, SQLiteCounters, SQLiteSecret, SQLiteCases, SQLiteRelays, SQLiteBlocks):
    """The store in one SQLite file (or in memory, for tests and conversation scripts)."""
