"""The only module that touches SQLite: sessions keyed by pseudonymous keys, and daily counters.

Stored per session: key, node, locale, back-stack, last-seen day, nation if given, misses in a row. Nothing else, by design.

Calls run on the event loop's own thread. Each is a point read or a one-row write to a local WAL
file (no fsync per commit), which takes microseconds; handing every call to a worker thread, as
aiosqlite does, cost several times the work and serialised all users behind it (bench/README.md).
Only the purge, which may delete many rows, yields to other users between batches.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from bot.cases import Case
from bot.engine import State
from bot.privacy import make_private_dir

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


class StoreError(Exception):
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

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) and migrate; raises StoreError with a one-line reason."""
        if str(path) != MEMORY:
            path = Path(path)
            _prepare_file(path)
        try:
            db = sqlite3.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        store = cls(db)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "secure_delete=ON"):
                db.execute(f"PRAGMA {pragma}")
            store._migrate(path)
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

    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days`, a batch at a time; returns how many went."""
        purged = 0
        while True:
            gone = self._db.execute(
                "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions WHERE day < ? LIMIT ?)",
                (today - retention_days, PURGE_BATCH),
            ).rowcount
            purged += gone
            if gone < PURGE_BATCH:
                return purged
            await asyncio.sleep(0)

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

    async def save_case(self, case: Case) -> None:
        """Insert or replace a case (by alias)."""
        values = (
            case.alias, case.user_key, case.sealed_chat, case.locale, " ".join(case.path), case.opened,
            case.active, case.thread_id, case.claimed, case.staff_alias, int(case.nudged),
        )
        self._db.execute(f"INSERT OR REPLACE INTO cases ({self._CASE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", values)

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

    async def remove_case(self, alias: str) -> None:
        """Delete a case, and with it the sealed chat link."""
        self._db.execute("DELETE FROM cases WHERE alias = ?", (alias,))

    async def close(self) -> None:
        """Fold the WAL into the main file and close."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()
