"""Stored sessions, written in bulk before a run (never through a bot), and the users who walk.

Stored users have chat ids 1..N. Half the walkers come back (ids drawn from 1..N), half are new
(ids above N), so both a lookup that finds a row and one that inserts are measured.
"""

from __future__ import annotations

import pickle
import random
import sqlite3
from contextlib import closing
from pathlib import Path

from bench.baseline.bot import CONVERSATION, STATES
from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.store.sqlite.connection import COMPANIONS
from bot.transports.telegram.app import TRANSPORT

# The bench's own secret: keys in the seeded database must be the ones the bot derives.
BENCH_SECRET = b"bench-secret-not-for-production-use"
CHUNK = 50_000


def walkers(sessions: int, users: int, seed: int = 8) -> list[int]:
    """Chat ids of the simulated users, returning and new mixed in a fixed random order."""
    rng = random.Random(seed)
    returning = rng.sample(range(1, sessions + 1), min(users // 2, sessions))
    new = [sessions + 1 + i for i in range(users - len(returning))]
    ids = returning + new
    rng.shuffle(ids)
    return ids


async def _create(path: Path) -> None:
    store = await open_store(path)  # the real schema, migrations and pragmas
    await store.close()


async def seed_store(path: Path, sessions: int, node: str, locale: str, day: int) -> None:
    """An SQLite store holding `sessions` users at `node`, inserted with executemany in key order."""
    for each in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        each.unlink(missing_ok=True)
    await _create(path)
    keyring = Keyring(BENCH_SECRET)
    keys = sorted(keyring.user_key(TRANSPORT, chat_id) for chat_id in range(1, sessions + 1))
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA cache_size=-262144")
        db.execute("BEGIN")
        for start in range(0, len(keys), CHUNK):
            db.executemany(
                "INSERT INTO sessions (key, node, locale, back, day) VALUES (?, ?, ?, '', ?)",
                ((key, node, locale, day) for key in keys[start : start + CHUNK]),
            )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seed_pickle(path: Path, sessions: int, node: str) -> None:
    """A PicklePersistence file as the baseline leaves it after `sessions` users reached `node`."""
    state = STATES[node.split(".", 1)[0]]
    ids = range(1, sessions + 1)
    data = {
        "conversations": {CONVERSATION: {(chat_id, chat_id): state for chat_id in ids}},
        "user_data": {chat_id: {"back": [], "node": node} for chat_id in ids},
        "chat_data": {chat_id: {} for chat_id in ids},  # PTB keeps one per chat it has seen
        "bot_data": {},
        "callback_data": None,
    }
    with path.open("wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
