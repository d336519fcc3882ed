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
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.engine import State
from bot.handoff.cases import Case
from bot.privacy.keys import make_private_dir
from bot.store.base import (
    CASE_COLUMNS,
    DAILY_DAYS,
    CounterRow,
    Store,
    StoreError,
    Turn,
    TurnWrite,
    month_of,
    month_start,
)
from bot.store.groupcommit import GroupCommit, read_batch

__all__ = ["COMPANIONS", "DAILY_DAYS", "MIGRATIONS", "SQLiteStore", "StoreError", "month_of", "month_start"]

T = TypeVar("T")

# Numbered migrations, applied in order and tracked with PRAGMA user_version. Append; never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        key BLOB PRIMARY KEY,
        node TEXT,
        locale TEXT,
        back TEXT NOT NULL DEFAULT '',
        day INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_day ON sessions(day);
    CREATE TABLE counters (
        day INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (day, kind, name)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE cases (
        alias TEXT PRIMARY KEY,
        user_key BLOB NOT NULL UNIQUE,
        sealed_chat BLOB NOT NULL,
        locale TEXT NOT NULL,
        path TEXT NOT NULL DEFAULT '',
        opened INTEGER NOT NULL,
        active INTEGER NOT NULL,
        thread_id INTEGER UNIQUE,
        claimed INTEGER,
        staff_alias TEXT,
        nudged INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE monthly_counters (
        month INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (month, kind, name)
    ) WITHOUT ROWID;
    CREATE TABLE secret_check (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        value BLOB NOT NULL
    );
    """,
    # Relays waiting to be copied (sealed like the case's chat link, deleted once sent or with the case),
    # and closed case topics waiting for their transcript retention to run out (a topic id identifies nobody).
    """
    CREATE TABLE relays (
        id INTEGER PRIMARY KEY,
        alias TEXT NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX relays_alias ON relays(alias, id);
    CREATE TABLE closed_topics (
        thread_id INTEGER PRIMARY KEY,
        day INTEGER NOT NULL,
        user_key BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX closed_topics_user ON closed_topics(user_key);
    """,
    # The UK nation the user chose (or '' for skipped), kept like the language; and how many typed
    # messages in a row were not understood, so the second miss offers the menu and a person.
    """
    ALTER TABLE sessions ADD COLUMN nation TEXT;
    ALTER TABLE sessions ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
    """,
    # A case's sealed link now holds its user's address with the transport ("telegram:123", "signal:<ACI
    # UUID>"). Links sealed before hold a bare Telegram chat id; re-sealing needs the secret, which SQL never
    # sees, so they are read as "telegram:<id>" (Keyring.unseal_address). The new version stops older code,
    # which can't read the new links, from opening this database and closing every open case.
    """
    SELECT 1;
    """,
    # People staff blocked from opening cases for a while: their pseudonymous key, the last day of the block,
    # and the random alias of the case it came from (so `/unblock ALIAS` works). Dropped when it runs out.
    """
    CREATE TABLE blocks (
        user_key BLOB PRIMARY KEY,
        alias TEXT NOT NULL,
        until_day INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX blocks_alias ON blocks(alias);
    CREATE INDEX blocks_until ON blocks(until_day);
    """,
)

MEMORY = ":memory:"
COMPANIONS = ("-wal", "-shm", "-journal")

UPSERT_SESSION = (
    "INSERT INTO sessions (key, node, locale, back, day, nation, misses) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET node = excluded.node, locale = excluded.locale, "
    "back = excluded.back, day = excluded.day, nation = excluded.nation, misses = excluded.misses"
)
PURGE_BATCH = 2_000  # rows deleted per write; other users' turns are committed between batches
COUNT_EVENT = (
    "INSERT INTO counters (day, kind, name, count) VALUES (?, ?, ?, 1) "
    "ON CONFLICT (day, kind, name) DO UPDATE SET count = count + 1"
)
ADD_TO_MONTH = (
    "INSERT INTO monthly_counters (month, kind, name, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (month, kind, name) DO UPDATE SET count = count + excluded.count"
)
SET_SECRET_CHECK = (
    "INSERT INTO secret_check (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value"
)
SCRUB_DELAY = 1.0  # seconds between a deletion and the WAL checkpoint that removes its old frames
SCRUB_BUSY_MS = 2_000  # how long the checkpoint waits for a writer to finish before trying again
SCRUB_ATTEMPTS = 30
# Another process (a backup, an operator's sqlite3 shell) may hold the write lock for seconds; the wait
# happens on the database's thread, so the bot keeps answering what needs no write meanwhile.
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY = 1.0  # seconds between background PASSIVE checkpoints while there are new commits
JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024  # bytes the WAL is cut back to when it restarts

log = logging.getLogger(__name__)


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


def _prepare_file(path: Path) -> None:
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


async def _connect(target: str, *, uri: bool = False) -> aiosqlite.Connection:
    return await aiosqlite.connect(target, uri=uri, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)


def _rows(sql: str, values: tuple[object, ...] = ()) -> Callable[[sqlite3.Connection], list[Any]]:
    return lambda db: db.execute(sql, values).fetchall()


class SQLiteStore(Store):
    """The store in one SQLite file (or in memory, for tests and conversation scripts)."""

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
        self._turn_select = self._turn_sql()

    @classmethod
    async def open(
        cls, path: Path | str, *, scrub_delay: float = SCRUB_DELAY, read_only: bool = False, checkpoints: bool = True
    ) -> SQLiteStore:
        """Open (creating if needed) and migrate; raises StoreError with a one-line reason.

        `read_only` (the stats of a live database) neither writes nor checkpoints; `checkpoints=False`
        (a console beside a running bot) leaves checkpoints to the bot, except those that scrub a
        deletion of its own.
        """
        memory = str(path) == MEMORY
        file = None if memory else Path(path)
        if file is not None and not read_only:
            _prepare_file(file)
        if file is not None and read_only and not file.is_file():
            raise StoreError(f"cannot open the database {file}: no such file")
        connections: list[aiosqlite.Connection] = []
        try:
            if file is None:
                connections.append(await _connect(MEMORY))
            elif read_only:
                connections.append(await _connect(f"{file.resolve().as_uri()}?mode=ro", uri=True))
            else:
                connections += [await _connect(str(file)), await _connect(str(file))]
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
                await on_thread(connections[1], _reader_pragmas)
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
            self._check_version(db, shown, upgrade=False)
            return
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "secure_delete=ON",
            "wal_autocheckpoint=0",
            f"journal_size_limit={JOURNAL_SIZE_LIMIT}",
        ):
            db.execute(f"PRAGMA {pragma}")
        version = self._check_version(db, shown, upgrade=True)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                db.executescript(f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        if self._checkpoints:
            # After a crash the WAL may still hold deleted rows: fold it in and empty it before anyone is served.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    @staticmethod
    def _check_version(db: sqlite3.Connection, shown: str, *, upgrade: bool) -> int:
        row = db.execute("PRAGMA user_version").fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise StoreError(
                f"cannot open the database {shown}: its schema (version {version}) is newer than this code "
                f"(version {len(MIGRATIONS)}); upgrade the bot"
            )
        if not upgrade and version < len(MIGRATIONS):
            raise StoreError(
                f"cannot read the database {shown}: its schema (version {version}) is older than this code's "
                f"(version {len(MIGRATIONS)}); start the bot once to upgrade it"
            )
        return version

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self.reads.submit(work)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        result = await self.commits.submit(work)
        self._committed.set()
        return result

    # -- one user's turn ------------------------------------------------------------------------

    _CASE_COLUMNS = ", ".join(CASE_COLUMNS)

    @staticmethod
    def _case(row: Iterable[Any]) -> Case:
        alias, key, sealed, locale, path, opened, active, thread, claimed, staff_alias, nudged = row
        return Case(
            alias=str(alias),
            user_key=bytes(key),
            sealed_chat=bytes(sealed),
            locale=str(locale),
            path=tuple(str(path).split(" ")) if path else (),
            opened=int(opened),
            active=int(active),
            thread_id=thread,
            claimed=claimed,
            staff_alias=staff_alias,
            nudged=bool(nudged),
        )

    @classmethod
    def _turn_sql(cls) -> str:
        case_columns = ", ".join(f"c.{column}" for column in CASE_COLUMNS)
        return (
            f"SELECT s.node, s.locale, s.back, s.day, s.nation, s.misses, {case_columns} "
            "FROM (SELECT ? AS key) AS wanted LEFT JOIN sessions AS s ON s.key = wanted.key "
            "LEFT JOIN cases AS c ON c.user_key = wanted.key"
        )

    async def load_turn(self, key: bytes) -> Turn:
        """The user's state and open case, in one SELECT (one hop)."""
        row = await self._read(lambda db: db.execute(self._turn_select, (key,)).fetchone())
        node, locale, back, day, nation, misses, *case = row
        state = (
            None
            if day is None
            else State(
                node=node,
                locale=locale,
                back=tuple(back.split(" ")) if back else (),
                day=day,
                nation=nation,
                misses=misses,
            )
        )
        return Turn(state, None if case[0] is None else self._case(case))

    async def write_turn(self, write: TurnWrite) -> None:
        """The turn's state, counters and case touch, in the next group commit."""
        rows = [(write.day, kind, name) for kind, name in write.events]
        state = write.state

        def apply(db: sqlite3.Connection) -> None:
            if state is None:
                db.execute("DELETE FROM sessions WHERE key = ?", (write.key,))
                db.execute("DELETE FROM blocks WHERE user_key = ?", (write.key,))  # forgotten means forgotten
            else:
                db.execute(
                    UPSERT_SESSION,
                    (write.key, state.node, state.locale, " ".join(state.back), state.day, state.nation, state.misses),
                )
            if rows:
                db.executemany(COUNT_EVENT, rows)
            if write.touch is not None:
                alias, now = write.touch
                db.execute("UPDATE cases SET active = ? WHERE alias = ?", (now, alias))

        await self._write(apply)
        if state is None:
            self.note_deletion()

    # -- counters and retention -----------------------------------------------------------------

    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""
        rows = [(day, kind, name) for kind, name in events]
        if rows:
            await self._write(lambda db: db.executemany(COUNT_EVENT, rows))

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days`, a batch per write, and roll old daily
        counters up into months; returns how many sessions went."""
        purged = 0
        while True:
            batch = PURGE_BATCH
            gone: int = await self._write(partial(_purge_batch, before_day=today - retention_days, batch=batch))
            purged += gone
            if gone < batch:
                break
        rolled = await self.roll_up_counters(today - DAILY_DAYS)
        expired = await self._write(lambda db: db.execute("DELETE FROM blocks WHERE until_day < ?", (today,)).rowcount)
        if purged or rolled or expired:
            self.note_deletion()
        return purged

    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""

        def roll(db: sqlite3.Connection) -> int:
            rows = db.execute("SELECT day, kind, name, count FROM counters WHERE day < ?", (before_day,)).fetchall()
            db.executemany(ADD_TO_MONTH, [(month_of(day), kind, name, count) for day, kind, name, count in rows])
            db.execute("DELETE FROM counters WHERE day < ?", (before_day,))
            return len(rows)

        return await self._write(roll)

    async def counters(self, first_day: int, last_day: int) -> list[CounterRow]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        rows = await self._read(
            _rows(
                "SELECT day, kind, name, count FROM counters WHERE day BETWEEN ? AND ? ORDER BY day, kind, name",
                (first_day, last_day),
            )
        )
        return [(int(day), str(kind), str(name), int(count)) for day, kind, name, count in rows]

    async def monthly_counters(self, first_month: int, last_month: int) -> list[CounterRow]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""
        rows = await self._read(
            _rows(
                "SELECT month, kind, name, count FROM monthly_counters WHERE month BETWEEN ? AND ? ORDER BY "
                "month, kind, name",
                (first_month, last_month),
            )
        )
        return [(int(month), str(kind), str(name), int(count)) for month, kind, name, count in rows]

    async def session_count(self) -> int:
        """How many sessions are stored."""
        return int((await self._read(_rows("SELECT count(*) FROM sessions")))[0][0])

    # -- the check value of the secret ----------------------------------------------------------

    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""
        rows = await self._read(_rows("SELECT value FROM secret_check WHERE id = 1"))
        return bytes(rows[0][0]) if rows else None

    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""
        await self._write(lambda db: db.execute(SET_SECRET_CHECK, (value,)))

    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""
        rows = await self._read(_rows("SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM cases)"))
        return bool(rows[0][0])

    async def start_over(self, check: bytes) -> None:
        """Delete every session and case (unreachable under a new secret) and record the new secret's check."""

        def wipe(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM cases")
            db.execute("DELETE FROM relays")  # sealed under the old secret: unreadable now
            db.execute("DELETE FROM blocks")  # keyed under the old secret: nobody's any more
            db.execute(SET_SECRET_CHECK, (check,))

        await self._write(wipe)
        self.note_deletion()

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

    # -- handoff cases ------------------------------------------------------------------------

    async def insert_case(self, case: Case) -> bool:
        """Add a new case; False (nothing stored) when its alias is taken or its user already has one."""
        values = (
            case.alias,
            case.user_key,
            case.sealed_chat,
            case.locale,
            " ".join(case.path),
            case.opened,
            case.active,
            case.thread_id,
            case.claimed,
            case.staff_alias,
            int(case.nudged),
        )
        marks = ", ".join("?" * len(CASE_COLUMNS))
        sql = f"INSERT INTO cases ({self._CASE_COLUMNS}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        inserted: bool = await self._write(lambda db: db.execute(sql, values).rowcount == 1)
        return inserted

    # Each change below is one UPDATE that names the columns it changes and returns whether the case
    # was still there: a case closed or forgotten meanwhile is never written back.

    async def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        sql = f"UPDATE cases SET {assignments} WHERE alias = ?{extra}"
        changed: bool = await self._write(lambda db: db.execute(sql, (*values, alias)).rowcount == 1)
        return changed

    async def claim_case(self, alias: str, now: int, staff_alias: str) -> bool:
        """Claim an unclaimed case; False when it is gone or someone claimed it first."""
        return await self._update_case(
            alias,
            "claimed = ?, active = ?, staff_alias = COALESCE(staff_alias, ?)",
            (now, now, staff_alias),
            " AND claimed IS NULL",
        )

    async def set_staff_alias(self, alias: str, staff_alias: str) -> bool:
        """The name the user sees for staff in this case."""
        return await self._update_case(alias, "staff_alias = ?", (staff_alias,))

    async def touch_case(self, alias: str, now: int) -> bool:
        """Note a message either way in this case."""
        return await self._update_case(alias, "active = ?", (now,))

    async def mark_nudged(self, alias: str) -> bool:
        """Mark the waiting message as sent; False if it already was (or the case is gone)."""
        return await self._update_case(alias, "nudged = 1", (), " AND nudged = 0")

    async def set_case_thread(self, alias: str, thread_id: int) -> bool:
        """The staff topic of a case whose topic could only be opened later."""
        return await self._update_case(alias, "thread_id = ?", (thread_id,))

    async def _find_case(self, column: str, value: object) -> Case | None:
        rows = await self._read(_rows(f"SELECT {self._CASE_COLUMNS} FROM cases WHERE {column} = ?", (value,)))
        return self._case(rows[0]) if rows else None

    async def case_for_user(self, key: bytes) -> Case | None:
        """The open case of a user, if any."""
        return await self._find_case("user_key", key)

    async def case_for_thread(self, thread_id: int) -> Case | None:
        """The open case whose staff topic is `thread_id`, if any."""
        return await self._find_case("thread_id", thread_id)

    async def case_by_alias(self, alias: str) -> Case | None:
        """The open case called `alias`, if any."""
        return await self._find_case("alias", alias)

    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""
        rows = await self._read(_rows(f"SELECT {self._CASE_COLUMNS} FROM cases ORDER BY opened, alias"))
        return [self._case(row) for row in rows]

    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""

        def remove(db: sqlite3.Connection) -> bool:
            gone = db.execute("DELETE FROM cases WHERE alias = ?", (alias,)).rowcount == 1
            db.execute("DELETE FROM relays WHERE alias = ?", (alias,))
            return gone

        gone: bool = await self._write(remove)
        self.note_deletion()
        return gone

    # -- relays waiting to be sent, and closed topics ------------------------------------------

    async def add_relay(self, alias: str, body: bytes, limit: int) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting."""

        def add(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT (SELECT count(*) FROM cases WHERE alias = ?), (SELECT count(*) FROM relays WHERE alias = ?)",
                (alias, alias),
            ).fetchone()
            if row is None or row[0] == 0 or row[1] >= limit:
                return None
            return db.execute("INSERT INTO relays (alias, body) VALUES (?, ?)", (alias, body)).lastrowid

        added: int | None = await self._write(add)
        return added

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""
        rows = await self._read(_rows("SELECT id, body FROM relays WHERE alias = ? ORDER BY id", (alias,)))
        return [(int(i), bytes(b)) for i, b in rows]

    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""
        return [str(a) for (a,) in await self._read(_rows("SELECT DISTINCT alias FROM relays ORDER BY alias"))]

    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""
        await self._write(lambda db: db.execute("DELETE FROM relays WHERE id = ?", (relay_id,)))

    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose, as the session does) so it can be deleted with the retention "
        "or on /forget."""
        await self._write(
            lambda db: db.execute(
                "INSERT INTO closed_topics (thread_id, day, user_key) VALUES (?, ?, ?) ON CONFLICT (thread_id) "
                "DO UPDATE SET day = excluded.day, user_key = excluded.user_key",
                (thread_id, day, user_key),
            )
        )

    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""
        rows = await self._read(_rows("SELECT thread_id FROM closed_topics WHERE user_key = ?", (user_key,)))
        return [int(t) for (t,) in rows]

    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""
        rows = await self._read(_rows("SELECT thread_id FROM closed_topics WHERE day < ? ORDER BY day", (before_day,)))
        return [int(t) for (t,) in rows]

    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""
        await self._write(lambda db: db.execute("DELETE FROM closed_topics WHERE thread_id = ?", (thread_id,)))

    # -- blocks ---------------------------------------------------------------------------------

    async def block(self, user_key: bytes, alias: str, until_day: int) -> None:
        """Block a user from opening cases until `until_day` (inclusive); a later block replaces an earlier one."""
        await self._write(
            lambda db: db.execute(
                "INSERT INTO blocks (user_key, alias, until_day) VALUES (?, ?, ?) ON CONFLICT (user_key) "
                "DO UPDATE SET alias = excluded.alias, until_day = excluded.until_day",
                (user_key, alias, until_day),
            )
        )

    async def blocked_until(self, user_key: bytes) -> int | None:
        """The last day of the user's block, or None when they are not blocked."""
        rows = await self._read(_rows("SELECT until_day FROM blocks WHERE user_key = ?", (user_key,)))
        return int(rows[0][0]) if rows else None

    async def unblock(self, alias: str) -> bool:
        """Lift the block made from case `alias`; False when there was none."""
        gone: bool = await self._write(
            lambda db: db.execute("DELETE FROM blocks WHERE alias = ?", (alias,)).rowcount > 0
        )
        if gone:
            self.note_deletion()
        return gone

    async def blocked_count(self, today: int) -> int:
        """How many blocks are still in force on `today`."""
        return int((await self._read(_rows("SELECT count(*) FROM blocks WHERE until_day >= ?", (today,))))[0][0])

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


def _purge_batch(db: sqlite3.Connection, before_day: int, batch: int) -> int:
    return int(
        db.execute(
            "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < ? LIMIT ?)", (before_day, batch)
        ).rowcount
    )


def _reader_pragmas(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA query_only = ON")  # this connection only reads; every write goes through the writer
    db.execute("PRAGMA wal_autocheckpoint = 0")
