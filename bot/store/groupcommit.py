"""Group commit: concurrent writes share one transaction on the database's own thread.

Each write is a function of the connection. Writes that arrive while a transaction is being committed
wait, then all go together in the next one: one thread hop and one commit for the group, however many
users' turns are in it. Each write runs inside its own savepoint, so one that fails is undone alone and
its caller gets the error; the others are committed. Every caller is woken only after the commit that
holds its write has returned, and writes are applied in the order they were submitted.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], Any]
Outcome = tuple[bool, Any]  # (succeeded, value or exception)
# Runs the batch function on the database's thread and returns its result to the loop.
OnThread = Callable[[Callable[[sqlite3.Connection], list[Outcome]]], Awaitable[list[Outcome]]]

LOCKED_RETRIES = 3  # a batch that could not take the write lock within the busy timeout is tried again this often


def commit_batch(db: sqlite3.Connection, batch: Sequence[Write]) -> list[Outcome]:
    """Apply the writes in `batch` in order in one IMMEDIATE transaction (on the database's thread); one outcome each.

    A failure of BEGIN or COMMIT raises, and then nothing of the batch is stored.
    """
    outcomes: list[Outcome] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        if len(batch) == 1:  # alone, the transaction itself is the unit: no savepoint needed
            try:
                outcomes.append((True, batch[0](db)))
            except Exception as exc:
                db.execute("ROLLBACK")
                return [(False, exc)]
        else:
            for write in batch:
                db.execute("SAVEPOINT one_write")
                try:
                    value = write(db)
                except Exception as exc:
                    db.execute("ROLLBACK TO one_write")
                    db.execute("RELEASE one_write")
                    outcomes.append((False, exc))
                else:
                    db.execute("RELEASE one_write")
                    outcomes.append((True, value))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcomes


def read_batch(db: sqlite3.Connection, batch: Sequence[Write]) -> list[Outcome]:
    """Run the reads in `batch` one after another, no transaction around them (each sees what was committed "
    "before it)."""
    outcomes: list[Outcome] = []
    for read in batch:
        try:
            outcomes.append((True, read(db)))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes


def locked(exc: BaseException) -> bool:
    """Whether another connection held the write lock past the busy timeout."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


@dataclass
class GroupCommit:
    """One writer task per database: queued writes, committed a group at a time.

    With `apply=read_batch` the same queue groups reads: one hop for the reads of all turns waiting.
    """

    on_thread: OnThread
    apply: Callable[[sqlite3.Connection, Sequence[Write]], list[Outcome]] = commit_batch
    batches: int = 0  # transactions committed, for tests and the benchmark
    largest: int = 0  # the most writes one transaction carried
    _queue: list[tuple[Write, asyncio.Future[Any]]] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False

    def _applying(self, writes: Sequence[Write]) -> Callable[[sqlite3.Connection], list[Outcome]]:
        """`apply` bound to this batch, to run on the database's thread."""
        return lambda db: self.apply(db, writes)

    async def submit(self, write: Callable[[sqlite3.Connection], T]) -> T:
        """Queue one write and wait until the transaction holding it has committed; its return value."""
        if self._closing:
            raise RuntimeError("the store is closed")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((write, done))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def close(self) -> None:
        """Commit everything queued so far, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _drain(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch, self._queue = self._queue, []
            writes = [write for write, _ in batch]
            for attempt in range(LOCKED_RETRIES + 1):
                try:
                    outcomes = await self.on_thread(self._applying(writes))
                except Exception as exc:
                    if locked(exc) and attempt < LOCKED_RETRIES:
                        continue
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    break
                self.batches += 1
                self.largest = max(self.largest, len(batch))
                for (_, done), (ok, value) in zip(batch, outcomes, strict=False):
                    if done.done():
                        continue  # its caller was cancelled; the write is stored all the same
                    if ok:
                        done.set_result(value)
                    else:
                        done.set_exception(value)
                break
