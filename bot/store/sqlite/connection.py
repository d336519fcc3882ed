"""The SQLite file and its connections: a private file, the pragmas, work on aiosqlite's thread, checkpoints."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.privacy.keys import make_private_dir
from bot.store.base import StoreError

T = TypeVar("T")

MEMORY = ":memory:"
COMPANIONS = ("-wal", "-shm", "-journal")

SCRUB_BUSY_MS = 2_000  # how long the checkpoint waits for a writer to finish before trying again
# Another process (a backup, an operator's sqlite3 shell) may hold the write lock for seconds; the wait
# happens on the database's thread, so the bot keeps answering what needs no write meanwhile.
BUSY_TIMEOUT_MS = 10_000
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024  # bytes the WAL is cut back to when it restarts
WRITER_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "secure_delete=ON",
    "wal_autocheckpoint=0",
    f"journal_size_limit={JOURNAL_SIZE_LIMIT}",
)


def truncate_wal(path: Path) -> bool:
    """Checkpoint every WAL frame into the database and truncate the WAL to nothing; False if a reader held on.

    Runs on its own connection so it can run on a worker thread. PASSIVE first copies the frames without
    holding writers up, so the TRUNCATE that follows (which does) has next to nothing left to do.
    """
    db = sqlite3.connect(str(path), timeout=SCRUB_BUSY_MS / 1000, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return int(busy) == 0
    finally:
        db.close()


def passive_checkpoint(path: Path) -> None:
    """Copy what the WAL holds into the database without waiting for, or holding up, anyone (a worker thread)."""
    db = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        db.close()


def prepare_file(path: Path) -> None:
    """Create the file 0600 before SQLite does, and tighten a looser existing file and its companions."""
    try:
        make_private_dir(path.parent)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a directory")
        # SQLite gives the -wal and -shm files it creates the main file's mode, whatever the umask.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for each in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
            if each.exists() and stat.S_IMODE(each.stat().st_mode) & 0o077:
                each.chmod(0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the database {path}: {exc.strerror or exc}") from None


async def on_thread(connection: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` with the sqlite3 connection on aiosqlite's thread: one hop, however many statements.

    aiosqlite's public calls are one statement per hop; its own helpers (execute_fetchall,
    execute_insert) hand it a function the same way, through `_execute`.
    """
    sqlite_connection = connection._conn  # only a reference here; it is used on aiosqlite's thread
    result: T = await connection._execute(work, sqlite_connection)
    return result


async def connect(target: str, *, uri: bool = False) -> aiosqlite.Connection:
    """A connection in autocommit (transactions are begun explicitly) that waits out another's write lock."""
    return await aiosqlite.connect(target, uri=uri, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)


def rows(sql: str, values: tuple[object, ...] = ()) -> Callable[[sqlite3.Connection], list[Any]]:
    """A read of every row of one SELECT, to run on the reading connection's thread."""
    return lambda db: db.execute(sql, values).fetchall()


def reader_pragmas(db: sqlite3.Connection) -> None:
    """Set up the reading connection: it waits for locks like the writer, never writes and never checkpoints."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = ON")  # this connection only reads; every write goes through the writer
    db.execute("PRAGMA wal_autocheckpoint = 0")
