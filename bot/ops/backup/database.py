"""Backing up and restoring the SQLite database: a consistent copy while the bot runs, and a checked
restore that refuses to overwrite data, a different secret, or a database in use."""

from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.ops.backup.sealed import BackupError, Contents, seal, unseal
from bot.privacy.keys import make_private_dir
from bot.store.sqlite import COMPANIONS, MIGRATIONS


@dataclass(frozen=True)
class Restored:
    """Where a restore put things, and the schema it brought back."""

    db: Path
    secret: Path
    schema: int
    created: str


def snapshot(db: Path) -> tuple[bytes, int]:
    """A consistent copy of the database and its schema version, safe while the bot writes to it.

    A separate read-only connection and SQLite's backup API: the copy is one committed state, and
    the bot's own connection is never touched.
    """
    if not db.is_file():
        raise BackupError(f"there is no database at {db}: pass --db or set BOT_DB as the bot has it")
    # While the bot runs its -wal and -shm files exist, and a read-only connection uses them as they
    # are. Without them a read-only connection would create them and leave them behind, owned by
    # whoever ran the backup (root, say), which would lock the bot out; a plain connection removes
    # them when it closes.
    running = db.with_name(db.name + "-shm").exists()
    try:
        source = sqlite3.connect(f"{db.resolve().as_uri()}{'?mode=ro' if running else ''}", uri=True, timeout=10)
        try:
            copy = sqlite3.connect(":memory:")
            try:
                source.backup(copy)
                version = int(copy.execute("PRAGMA user_version").fetchone()[0])
                return copy.serialize(), version
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database {db}: {exc}") from None


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` under a temporary name with mode 0600 and rename it into place.

    Run as root (restoring into a service's state folder), the file takes the folder's owner, so
    the service's own user can open it.
    """
    make_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if os.geteuid() == 0:
            folder = path.parent.stat()
            os.fchown(fd, folder.st_uid, folder.st_gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def backup(db: Path, secret: bytes, out: Path, passphrase: str, now: datetime) -> Contents:
    """Write an encrypted, mode 0600 backup of `db` and `secret` to `out`."""
    database, schema = snapshot(db)
    contents = Contents(secret=secret, database=database, schema=schema, created=now.isoformat(timespec="seconds"))
    try:
        _write_private(out, seal(contents, passphrase))
    except OSError as exc:
        raise BackupError(f"cannot write the backup {out}: {exc.strerror or exc}") from None
    return contents


def _check_database(path: Path) -> int:
    """Integrity check a restored copy; its schema version, which must not be newer than this code."""
    try:
        check = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            result = [row[0] for row in check.execute("PRAGMA integrity_check")]
            version = int(check.execute("PRAGMA user_version").fetchone()[0])
        finally:
            check.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the database in this backup cannot be read: {exc}") from None
    if result != ["ok"]:
        raise BackupError(f"the database in this backup fails SQLite's integrity check: {result[0]}")
    if version > len(MIGRATIONS):
        raise BackupError(
            f"the backup's schema (version {version}) is newer than this code (version {len(MIGRATIONS)}): "
            "upgrade the bot first, then restore"
        )
    return version


def _in_use(db: Path) -> bool:
    """Whether another connection has the database open (the bot running)."""
    # Exclusive locking mode needs every other connection, even an idle one in WAL mode, to be gone.
    probe = sqlite3.connect(str(db), timeout=0, isolation_level=None)
    try:
        probe.execute("PRAGMA locking_mode=EXCLUSIVE")
        probe.execute("BEGIN EXCLUSIVE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.DatabaseError:
        return False  # not an SQLite database at all, so nothing has it open as one
    finally:
        probe.close()


def _has_data(db: Path) -> bool:
    if not db.exists() or db.stat().st_size == 0:
        return False
    try:
        look = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in look.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return any(
                look.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                for table in tables & {"sessions", "cases", "counters"}
            )
        finally:
            look.close()
    except sqlite3.Error:
        return True  # unreadable is not proof of empty


def restore(source: Path, passphrase: str, db: Path, secret_path: Path, force: bool) -> Restored:
    """Check a backup and put its database at `db` and its secret at `secret_path`.

    Refuses while the bot has `db` open, and refuses to replace data or a different secret unless `force`.
    """
    try:
        blob = source.read_bytes()
    except OSError as exc:
        raise BackupError(f"cannot read the backup {source}: {exc.strerror or exc}") from None
    contents = unseal(blob, passphrase)
    if db.is_dir():
        raise BackupError(f"{db} is a folder: give the database file's path")
    if db.exists() and _in_use(db):
        raise BackupError(f"the database {db} is in use: stop the bot first (systemctl stop signpost-bot)")
    if not force and _has_data(db):
        raise BackupError(f"{db} already holds sessions or cases: restore elsewhere, or add --force to replace them")
    if secret_path.exists() and not force:
        try:
            current = secret_path.read_bytes().strip()
        except OSError as exc:
            raise BackupError(f"cannot read the secret file {secret_path}: {exc.strerror or exc}") from None
        if current != contents.secret.strip():
            raise BackupError(f"{secret_path} holds a different secret: add --force to replace it with the backup's")
    staged = db.with_name(f".{db.name}.{secrets.token_hex(8)}.restore")
    try:
        try:
            _write_private(staged, contents.database)
        except OSError as exc:
            raise BackupError(f"cannot write {db.parent}: {exc.strerror or exc}") from None
        schema = _check_database(staged)
        try:
            _write_private(secret_path, contents.secret.strip() + b"\n")
            for suffix in COMPANIONS:
                db.with_name(db.name + suffix).unlink(missing_ok=True)
            os.replace(staged, db)
        except OSError as exc:
            raise BackupError(f"cannot put the backup in place: {exc.strerror or exc}") from None
    finally:
        staged.unlink(missing_ok=True)
    return Restored(db=db, secret=secret_path, schema=schema, created=contents.created)
