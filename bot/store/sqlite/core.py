"""The SQLite store's core: its two connections, group commit, and keeping deleted rows out of the WAL.

Every concern's methods (turns.py, counters.py, cases.py, ...) read through `_read` and write through
`_write`, and call `note_deletion` after deleting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Self, TypeVar

import aiosqlite

from bot.store.base import Store, StoreError
from bot.store.groupcommit import GroupCommit, read_batch
from bot.store.sqlite.connection import (
    BUSY_TIMEOUT_MS,
    MEMORY,
    WRITER_PRAGMAS,
    connect,
    on_thread,
    passive_checkpoint,
    prepare_file,
    reader_pragmas,
    truncate_wal,
)
from bot.store.sqlite.schema import migrate, schema_version

T = TypeVar("T")

SCRUB_DELAY = 1.0  # seconds between a deletion and the WAL checkpoint that removes its old frames
SCRUB_ATTEMPTS = 30
CHECKPOINT_EVERY = 1.0  # seconds between background PASSIVE checkpoints while there are new commits

log = logging.getLogger(__name__)


class SQLiteCore(Store):
    """What every part of the SQLite store stands on: opening, reads, group-committed writes, the WAL, closing."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        path: Path | None,
        *,
        scrub_delay: float = SCRUB_DELAY,
        checkpoints: bool = True,
        read_only: bool = False,
    ) -> None:
        self._writer = writer
        self._reader = reader  # the writer itself in memory and when read-only: there is only one database then
        self._path = path  # None in memory: there is no WAL to scrub
        self._scrub_delay = scrub_delay
        self._checkpoints = checkpoints and path is not None and not read_only
        self.read_only = read_only
        self.commits = GroupCommit(lambda work: on_thread(writer, work))
        self.reads = GroupCommit(lambda work: on_thread(reader, work), apply=read_batch)
        self._deleted = False  # a deletion since the last checkpoint began
        self._scrubber: asyncio.Task[None] | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._committed = asyncio.Event()  # a commit since the last background checkpoint
        self.scrubs = 0  # checkpoints that truncated the WAL, for tests and `doctor`

    @classmethod
    async def open(
        cls, path: Path | str, *, scrub_delay: float = SCRUB_DELAY, read_only: bool = False, checkpoints: bool = True
    ) -> Self:
        """Open (creating if needed) and migrate; raises StoreError with a one-line reason.

        `read_only` (the stats of a live database) neither writes nor checkpoints; `checkpoints=False`
        (a console beside a running bot) leaves checkpoints to the bot, except those that scrub a
        deletion of its own.
        """
        memory = str(path) == MEMORY
        file = None if memory else Path(path)
        if file is not None and not read_only:
            prepare_file(file)
        if file is not None and read_only and not file.is_file():
            raise StoreError(f"cannot open the database {file}: no such file")
        connections: list[aiosqlite.Connection] = []
        try:
            if file is None:
                connections.append(await connect(MEMORY))
            elif read_only:
                connections.append(await connect(f"{file.resolve().as_uri()}?mode=ro", uri=True))
            else:
                connections += [await connect(str(file)), await connect(str(file))]
            store = cls(
                connections[0],
                connections[-1],
                file,
                scrub_delay=scrub_delay,
                checkpoints=checkpoints,
                read_only=read_only,
            )
            await on_thread(connections[0], lambda db: store._prepare(db, str(path)))
            if len(connections) > 1:
                await on_thread(connections[1], reader_pragmas)
        except BaseException as exc:
            for connection in connections:
                await connection.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the database {path}: {exc}") from None
            raise
        if store._checkpoints:
            store._checkpointer = asyncio.get_running_loop().create_task(store._checkpoint_in_background())
        return store

    def _prepare(self, db: sqlite3.Connection, shown: str) -> None:
        """Pragmas, migrations and, for the bot, a scrubbed WAL (on aiosqlite's thread)."""
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.read_only:
            db.execute("PRAGMA query_only = ON")
            schema_version(db, shown, upgrade=False)
            return
        for pragma in WRITER_PRAGMAS:
            db.execute(f"PRAGMA {pragma}")
        migrate(db, shown)
        if self._checkpoints:
            # After a crash the WAL may still hold deleted rows: fold it in and empty it before anyone is served.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self.reads.submit(work)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        result = await self.commits.submit(work)
        self._committed.set()
        return result

    # -- scrubbing the WAL after deletions, and checkpoints in the background --------------------

    def note_deletion(self) -> None:
        """Have the WAL checkpointed and truncated shortly, so deleted rows leave every file; cheap to call often."""
        if self._path is None:
            return
        self._deleted = True
        if self._scrubber is None or self._scrubber.done():
            self._scrubber = asyncio.get_running_loop().create_task(self._scrub_soon())

    async def _scrub_soon(self) -> None:
        path = self._path
        assert path is not None
        failures = 0
        while self._deleted and failures < SCRUB_ATTEMPTS:
            await asyncio.sleep(self._scrub_delay)  # deletions meanwhile share this checkpoint
            self._deleted = False
            try:
                truncated = await asyncio.to_thread(truncate_wal, path)
            except sqlite3.Error as exc:
                log.warning("checkpointing the WAL after a deletion failed: %s", type(exc).__name__)
                truncated = False
            if truncated:
                self.scrubs, failures = self.scrubs + 1, 0
            else:
                self._deleted, failures = True, failures + 1  # a reader held on: try again after a pause
        if failures:
            log.warning("the WAL could not be truncated after %d attempts; the next deletion or a stop will", failures)

    async def scrubbed(self) -> None:
        """Wait until every deletion so far has been checkpointed out of the WAL (or the attempts ran out)."""
        while self._scrubber is not None and not self._scrubber.done():
            await asyncio.shield(self._scrubber)

    async def _checkpoint_in_background(self) -> None:
        """While commits come in, a PASSIVE checkpoint every CHECKPOINT_EVERY seconds on a worker thread,
        so the WAL restarts (and is cut back) instead of growing, and no commit waits for one."""
        path = self._path
        assert path is not None
        while True:
            await self._committed.wait()
            await asyncio.sleep(CHECKPOINT_EVERY)
            self._committed.clear()
            try:
                await asyncio.to_thread(passive_checkpoint, path)
            except sqlite3.Error as exc:
                log.warning("a background checkpoint failed: %s", type(exc).__name__)

    async def close(self) -> None:
        """Commit what is queued, fold the WAL into the main file (unless checkpoints are left to another
        process) and close."""
        await self.commits.close()
        await self.reads.close()
        for task in (self._scrubber, self._checkpointer):
            if task is not None and not task.done():
                task.cancel()  # the TRUNCATE below does their work
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            if self._checkpoints:
                await on_thread(self._writer, lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        finally:
            if self._reader is not self._writer:
                await self._reader.close()
            await self._writer.close()
