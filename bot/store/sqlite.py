"""The only module that touches SQLite: sessions keyed by pseudonymous keys, and daily counters.

Stored per session: key, node, locale, back-stack, last-seen day, nation if given, misses in a row. Nothing else, by design.

Calls run on the event loop's own thread. Each is a point read or a one-row write to a local WAL
file (no fsync per commit), which takes microseconds; handing every call to a worker thread, as
aiosqlite does, cost several times the work and serialised all users behind it (bench/README.md).
Only the purge, which may delete many rows, yields to other users between batches.

A deleted row lives on in older WAL frames (`secure_delete` scrubs only the database pages), so every
deletion schedules a checkpoint that truncates the WAL a moment later, on a worker thread with its
own connection; deletions close together share one.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
import stat
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from bot.errors import BotError
from bot.handoff.cases import Case
from bot.engine import State
from bot.privacy.keys import make_private_dir

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
)

MEMORY = ":memory:"
COMPANIONS = ("-wal", "-shm", "-journal")

UPSERT_SESSION = (
    "INSERT INTO sessions (key, node, locale, back, day, nation, misses) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET node = excluded.node, locale = excluded.locale, "
    "back = excluded.back, day = excluded.day, nation = excluded.nation, misses = excluded.misses"
)
PURGE_BATCH = 2_000  # rows deleted per statement; other users are served between batches
COUNT_EVENT = (
    "INSERT INTO counters (day, kind, name, count) VALUES (?, ?, ?, 1) "
    "ON CONFLICT (day, kind, name) DO UPDATE SET count = count + 1"
)
ADD_TO_MONTH = (
    "INSERT INTO monthly_counters (month, kind, name, count) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (month, kind, name) DO UPDATE SET count = count + excluded.count"
)
DAILY_DAYS = 90  # daily counters older than this are added into their month, then deleted
SCRUB_DELAY = 1.0  # seconds between a deletion and the WAL checkpoint that removes its old frames
SCRUB_BUSY_MS = 2_000  # how long the checkpoint waits for a writer to finish before trying again
SCRUB_ATTEMPTS = 30

log = logging.getLogger(__name__)


def month_of(day: int) -> int:
    """A day ordinal's month as one number (year * 12 + month - 1), the key of the monthly counters."""
    moment = date.fromordinal(day)
    return moment.year * 12 + moment.month - 1


def month_start(month: int) -> date:
    """The first day of a month numbered as `month_of` numbers them."""
    return date(month // 12, month % 12 + 1, 1)


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


class StoreError(BotError):
    """The database cannot be opened or created; the message names the path and the reason."""


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


class Store:
    """Sessions and counters on one SQLite connection, used only from the event loop's thread.

    No method awaits between BEGIN and COMMIT, so transactions of different users never interleave.
    """

    def __init__(self, db: sqlite3.Connection, path: Path | None = None, scrub_delay: float = SCRUB_DELAY) -> None:
        self._db = db
        self._path = path  # None in memory: there is no WAL to scrub
        self._scrub_delay = scrub_delay
        self._deleted = False  # a deletion since the last checkpoint began
        self._scrubber: asyncio.Task[None] | None = None
        self.scrubs = 0  # checkpoints that truncated the WAL, for tests and `doctor`

    @classmethod
    async def open(cls, path: Path | str, *, scrub_delay: float = SCRUB_DELAY) -> Store:
        """Open (creating if needed) and migrate; raises StoreError with a one-line reason."""
        if str(path) != MEMORY:
            path = Path(path)
            _prepare_file(path)
        try:
            db = sqlite3.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        store = cls(db, path if isinstance(path, Path) else None, scrub_delay)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "secure_delete=ON"):
                db.execute(f"PRAGMA {pragma}")
            store._migrate(path)
            # After a crash the WAL may still hold deleted rows: fold it in and empty it before anyone is served.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except BaseException as exc:
            db.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the database {path}: {exc}") from None
            raise
        return store

    def _migrate(self, path: Path | str) -> None:
        version = self._scalar("PRAGMA user_version")
        if version > len(MIGRATIONS):
            raise StoreError(
                f"cannot open the database {path}: its schema (version {version}) is newer than this code "
                f"(version {len(MIGRATIONS)}); upgrade the bot"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                self._db.executescript(f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;")
            except BaseException:
                self._rollback()
                raise

    def _scalar(self, sql: str) -> int:
        row = self._db.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction was open: the failure came before BEGIN or after COMMIT

    async def load(self, key: bytes) -> State | None:
        """The saved state for a user key, or None."""
        row = self._db.execute(
            "SELECT node, locale, back, day, nation, misses FROM sessions WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        node, locale, back, day, nation, misses = row
        return State(node=node, locale=locale, back=tuple(back.split(" ")) if back else (), day=day,
                     nation=nation, misses=misses)

    async def record(self, key: bytes, state: State | None, events: Iterable[tuple[str, str]], day: int) -> None:
        """In one transaction: save the state (or delete it when None) and count the events for `day`."""
        rows = [(day, kind, name) for kind, name in events]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if state is None:
                db.execute("DELETE FROM sessions WHERE key = ?", (key,))
            else:
                db.execute(UPSERT_SESSION, (key, state.node, state.locale, " ".join(state.back), state.day,
                                            state.nation, state.misses))
            if rows:
                db.executemany(COUNT_EVENT, rows)
            db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        if state is None:
            self.note_deletion()

    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""
        rows = [(day, kind, name) for kind, name in events]
        if not rows:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(COUNT_EVENT, rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    async def delete(self, key: bytes) -> None:
        """Delete a user's session."""
        self._db.execute("DELETE FROM sessions WHERE key = ?", (key,))
        self.note_deletion()

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days`, a batch at a time, and roll old daily
        counters up into months; returns how many sessions went."""
        purged = 0
        while True:
            gone = self._db.execute(
                "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < ? LIMIT ?)",
                (today - retention_days, PURGE_BATCH),
            ).rowcount
            purged += gone
            if gone < PURGE_BATCH:
                break
            await asyncio.sleep(0)
        rolled = await self.roll_up_counters(today - DAILY_DAYS)
        if purged or rolled:
            self.note_deletion()
        return purged

    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT day, kind, name, count FROM counters WHERE day < ?", (before_day,)).fetchall()
            db.executemany(ADD_TO_MONTH, [(month_of(day), kind, name, count) for day, kind, name, count in rows])
            db.execute("DELETE FROM counters WHERE day < ?", (before_day,))
            db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return len(rows)

    async def monthly_counters(self, first_month: int, last_month: int) -> list[tuple[int, str, str, int]]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""
        rows = self._db.execute(
            "SELECT month, kind, name, count FROM monthly_counters WHERE month BETWEEN ? AND ? ORDER BY month, kind, name",
            (first_month, last_month),
        ).fetchall()
        return [(int(month), str(kind), str(name), int(count)) for month, kind, name, count in rows]

    # -- the check value of the secret ----------------------------------------------------------

    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""
        row = self._db.execute("SELECT value FROM secret_check WHERE id = 1").fetchone()
        return bytes(row[0]) if row else None

    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""
        self._db.execute(
            "INSERT INTO secret_check (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value",
            (value,),
        )

    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""
        return bool(self._scalar("SELECT EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM cases)"))

    async def start_over(self, check: bytes) -> None:
        """Delete every session and case (unreachable under a new secret) and record the new secret's check."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM cases")
            db.execute("DELETE FROM relays")  # sealed under the old secret: unreadable now
            db.execute(
                "INSERT INTO secret_check (id, value) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                (check,),
            )
            db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self.note_deletion()

    # -- scrubbing the WAL after deletions ------------------------------------------------------

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

    async def counters(self, first_day: int, last_day: int) -> list[tuple[int, str, str, int]]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""
        rows = self._db.execute(
            "SELECT day, kind, name, count FROM counters WHERE day BETWEEN ? AND ? ORDER BY day, kind, name",
            (first_day, last_day),
        ).fetchall()
        return [(int(day), str(kind), str(name), int(count)) for day, kind, name, count in rows]

    async def session_count(self) -> int:
        """How many sessions are stored."""
        return self._scalar("SELECT count(*) FROM sessions")

    # -- handoff cases ------------------------------------------------------------------------

    _CASE_COLUMNS = "alias, user_key, sealed_chat, locale, path, opened, active, thread_id, claimed, staff_alias, nudged"

    @staticmethod
    def _case(row: Iterable[object]) -> Case:
        alias, key, sealed, locale, path, opened, active, thread, claimed, staff_alias, nudged = row
        return Case(
            alias=str(alias), user_key=bytes(key), sealed_chat=bytes(sealed), locale=str(locale),
            path=tuple(str(path).split(" ")) if path else (), opened=int(opened), active=int(active),
            thread_id=thread, claimed=claimed, staff_alias=staff_alias, nudged=bool(nudged),
        )

    async def insert_case(self, case: Case) -> None:
        """Add a new case (an alias or user already in a case is refused by the schema)."""
        values = (
            case.alias, case.user_key, case.sealed_chat, case.locale, " ".join(case.path), case.opened,
            case.active, case.thread_id, case.claimed, case.staff_alias, int(case.nudged),
        )
        self._db.execute(f"INSERT INTO cases ({self._CASE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", values)

    # Each change below is one UPDATE that names the columns it changes and returns whether the case
    # was still there: a case closed or forgotten meanwhile is never written back.

    def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        sql = f"UPDATE cases SET {assignments} WHERE alias = ?{extra}"
        return self._db.execute(sql, (*values, alias)).rowcount == 1

    async def claim_case(self, alias: str, now: int, staff_alias: str) -> bool:
        """Claim an unclaimed case; False when it is gone or someone claimed it first."""
        return self._update_case(alias, "claimed = ?, active = ?, staff_alias = COALESCE(staff_alias, ?)",
                                 (now, now, staff_alias), " AND claimed IS NULL")

    async def set_staff_alias(self, alias: str, staff_alias: str) -> bool:
        """The name the user sees for staff in this case."""
        return self._update_case(alias, "staff_alias = ?", (staff_alias,))

    async def touch_case(self, alias: str, now: int) -> bool:
        """Note a message either way in this case."""
        return self._update_case(alias, "active = ?", (now,))

    async def mark_nudged(self, alias: str) -> bool:
        """Mark the waiting message as sent; False if it already was (or the case is gone)."""
        return self._update_case(alias, "nudged = 1", (), " AND nudged = 0")

    async def set_case_thread(self, alias: str, thread_id: int) -> bool:
        """The staff topic of a case whose topic could only be opened later."""
        return self._update_case(alias, "thread_id = ?", (thread_id,))

    def _find_case(self, column: str, value: object) -> Case | None:
        row = self._db.execute(f"SELECT {self._CASE_COLUMNS} FROM cases WHERE {column} = ?", (value,)).fetchone()
        return self._case(row) if row else None

    async def case_for_user(self, key: bytes) -> Case | None:
        """The open case of a user, if any."""
        return self._find_case("user_key", key)

    async def case_for_thread(self, thread_id: int) -> Case | None:
        """The open case whose staff topic is `thread_id`, if any."""
        return self._find_case("thread_id", thread_id)

    async def case_by_alias(self, alias: str) -> Case | None:
        """The open case called `alias`, if any."""
        return self._find_case("alias", alias)

    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""
        return [self._case(row) for row in self._db.execute(f"SELECT {self._CASE_COLUMNS} FROM cases ORDER BY opened, alias")]

    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            gone = self._db.execute("DELETE FROM cases WHERE alias = ?", (alias,)).rowcount == 1
            self._db.execute("DELETE FROM relays WHERE alias = ?", (alias,))
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        self.note_deletion()
        return gone

    # -- relays waiting to be sent, and closed topics ------------------------------------------

    async def add_relay(self, alias: str, body: bytes, limit: int) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting."""
        row = self._db.execute(
            "SELECT (SELECT count(*) FROM cases WHERE alias = ?), (SELECT count(*) FROM relays WHERE alias = ?)",
            (alias, alias),
        ).fetchone()
        if row is None or row[0] == 0 or row[1] >= limit:
            return None
        return self._db.execute("INSERT INTO relays (alias, body) VALUES (?, ?)", (alias, body)).lastrowid

    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""
        rows = self._db.execute("SELECT id, body FROM relays WHERE alias = ? ORDER BY id", (alias,)).fetchall()
        return [(int(i), bytes(b)) for i, b in rows]

    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""
        return [str(a) for (a,) in self._db.execute("SELECT DISTINCT alias FROM relays ORDER BY alias")]

    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""
        self._db.execute("DELETE FROM relays WHERE id = ?", (relay_id,))

    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose, as the session does) so it can be deleted with the retention or on /forget."""
        self._db.execute("INSERT INTO closed_topics (thread_id, day, user_key) VALUES (?, ?, ?) ON CONFLICT (thread_id) "
                         "DO UPDATE SET day = excluded.day, user_key = excluded.user_key", (thread_id, day, user_key))

    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""
        rows = self._db.execute("SELECT thread_id FROM closed_topics WHERE user_key = ?", (user_key,))
        return [int(t) for (t,) in rows]

    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""
        rows = self._db.execute("SELECT thread_id FROM closed_topics WHERE day < ? ORDER BY day", (before_day,))
        return [int(t) for (t,) in rows]

    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""
        self._db.execute("DELETE FROM closed_topics WHERE thread_id = ?", (thread_id,))

    async def close(self) -> None:
        """Fold the WAL into the main file and close."""
        if self._scrubber is not None and not self._scrubber.done():
            self._scrubber.cancel()  # the TRUNCATE below does its work
            try:
                await self._scrubber
            except asyncio.CancelledError:
                pass
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()
