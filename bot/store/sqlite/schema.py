"""The SQLite schema: numbered migrations, and bringing a database's schema up to this code's."""

from __future__ import annotations

import sqlite3

from bot.store.versions import check_version

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


def schema_version(db: sqlite3.Connection, shown: str, *, upgrade: bool) -> int:
    """The database's schema version (PRAGMA user_version), if this code can use it; else StoreError."""
    row = db.execute("PRAGMA user_version").fetchone()
    version = int(row[0]) if row else 0
    check_version(version, len(MIGRATIONS), shown, upgrade=upgrade)
    return version


def migrate(db: sqlite3.Connection, shown: str) -> None:
    """Apply the migrations this database lacks, each in a transaction of its own (on aiosqlite's thread)."""
    version = schema_version(db, shown, upgrade=True)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        try:
            db.executescript(f"BEGIN IMMEDIATE;\n{script}\n;PRAGMA user_version = {number};\nCOMMIT;")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
