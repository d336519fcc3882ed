"""Encrypted backups: the database and its secret together, since neither is any use without the other.

A backup file is a short header (format, scrypt parameters, salt, nonce) followed by one AES-GCM
ciphertext, keyed by scrypt from a passphrase, of a manifest, the secret and a consistent copy of
the database. The header is the AES-GCM associated data, so it cannot be changed unnoticed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sqlite3
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot import config
from bot.errors import BotError
from bot.privacy.keys import SecretError, find_secret, make_private_dir
from bot.store.sqlite import COMPANIONS, MIGRATIONS

MAGIC = b"SIGNPOST-BACKUP\n"
FORMAT = 1
# scrypt cost: n=2**15, r=8 takes about 32 MiB and a tenth of a second, once per backup or restore.
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
SALT, NONCE = 16, 12
_HEADER = struct.Struct(f">{len(MAGIC)}sBBBB{SALT}s{NONCE}s")
MIN_PASSPHRASE = 12
PASSPHRASE_ENV = "BOT_BACKUP_PASSPHRASE"


class BackupError(BotError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Contents:
    """What a backup holds once opened."""

    secret: bytes
    database: bytes
    schema: int
    created: str


@dataclass(frozen=True)
class Restored:
    """Where a restore put things, and the schema it brought back."""

    db: Path
    secret: Path
    schema: int
    created: str


def _key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log_n, r=r, p=p).derive(passphrase.encode())


def existing_secret(env: Mapping[str, str], default_path: Path) -> bytes:
    """The secret the bot would use, found as `run` finds it, but never a new one: a backup of a
    just-made secret is worthless."""
    path = Path(env["BOT_SECRET_FILE"]) if env.get("BOT_SECRET_FILE") else default_path
    # The file named by BOT_SECRET_FILE is made when missing; passed as the default it is only read.
    try:
        return find_secret({**env, "BOT_SECRET_FILE": ""}, path, create_default=False).value
    except SecretError:
        if not env.get("BOT_SECRET") and not path.exists():
            raise BackupError(
                f"there is no secret at {path}: set BOT_SECRET or BOT_SECRET_FILE as the bot has them"
            ) from None
        raise


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


def seal(contents: Contents, passphrase: str) -> bytes:
    """The encrypted backup file's bytes."""
    salt, nonce = os.urandom(SALT), os.urandom(NONCE)
    header = _HEADER.pack(MAGIC, FORMAT, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P, salt, nonce)
    manifest = json.dumps(
        {
            "schema": contents.schema,
            "created": contents.created,
            "secret_bytes": len(contents.secret),
            "database_bytes": len(contents.database),
        }
    ).encode()
    plain = struct.pack(">I", len(manifest)) + manifest + contents.secret + contents.database
    try:
        sealed = AESGCM(_key(passphrase, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)).encrypt(nonce, plain, header)
    except OverflowError:
        raise BackupError(
            "the database is too large for one backup file (2 GiB): copy it with the bot stopped"
        ) from None
    return header + sealed


def unseal(blob: bytes, passphrase: str) -> Contents:
    """Open a backup file's bytes; raises BackupError for a wrong passphrase or a damaged file."""
    if len(blob) < _HEADER.size or not blob.startswith(MAGIC):
        raise BackupError("this is not a signpost-bot backup file")
    header = blob[: _HEADER.size]
    _, version, log_n, r, p, salt, nonce = _HEADER.unpack(header)
    if version != FORMAT:
        raise BackupError(f"this backup is in format {version}, which this code does not read; upgrade the bot")
    if not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BackupError("this backup's header is damaged")
    try:
        plain = AESGCM(_key(passphrase, salt, log_n, r, p)).decrypt(nonce, blob[_HEADER.size :], header)
    except InvalidTag:
        raise BackupError("wrong passphrase, or the backup file is damaged: nothing was restored") from None
    (size,) = struct.unpack(">I", plain[:4])
    manifest = json.loads(plain[4 : 4 + size])
    secret_end = 4 + size + int(manifest["secret_bytes"])
    return Contents(
        secret=plain[4 + size : secret_end],
        database=plain[secret_end:],
        schema=int(manifest["schema"]),
        created=str(manifest["created"]),
    )


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


def utc_now() -> datetime:
    """The clock backups are stamped with."""
    return datetime.now(UTC)


# -- the command line: `python -m bot backup PATH`, `python -m bot restore PATH` ------------------

EXIT_OK, EXIT_USAGE = 0, 2


def add_parsers(commands: Any) -> None:
    """Add `backup` and `restore` to the `python -m bot` subcommands."""
    made = commands.add_parser(
        "backup",
        help="write an encrypted copy of the database and the secret (safe while the bot runs)",
    )
    made.add_argument("path", type=Path, help="the backup file to write (mode 0600)")
    made.add_argument("--db", type=Path, help="SQLite file (default as `run`: $BOT_DB, else bot.sqlite3 in $BOT_HOME)")
    back = commands.add_parser("restore", help="check a backup and put its database and secret back (bot stopped)")
    back.add_argument("path", type=Path, help="the backup file to read")
    back.add_argument(
        "--db", type=Path, help="where the database goes (default as `run`: $BOT_DB, else bot.sqlite3 in $BOT_HOME)"
    )
    back.add_argument(
        "--secret-file",
        type=Path,
        metavar="PATH",
        help="where the secret goes (default $BOT_SECRET_FILE, else secret in $BOT_HOME)",
    )
    back.add_argument("--force", action="store_true", help="replace a database that holds data, or a different secret")


def passphrase(env: Mapping[str, str], confirm: bool, ask: Callable[[str], str] = getpass.getpass) -> str:
    """`BOT_BACKUP_PASSPHRASE`, else asked for on the terminal (twice when making a backup)."""
    value = env.get(PASSPHRASE_ENV, "")
    if not value:
        try:
            value = ask("Backup passphrase: ")
            if confirm and ask("The same again: ") != value:
                raise BackupError("the two passphrases differ: nothing was written")
        except EOFError:
            raise BackupError(f"no passphrase: set {PASSPHRASE_ENV} or run this in a terminal") from None
    if confirm and len(value) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase is too short: use at least {MIN_PASSPHRASE} characters")
    return value


def _sqlite_only(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """Refuse to copy a stale SQLite file when the bot's data is in PostgreSQL."""
    if args.db is None and config.database_url(env):
        raise BackupError(
            "the bot's data is in PostgreSQL (BOT_DATABASE_URL), which this command does not copy: use pg_dump "
            "and encrypt its output, and back up the secret apart (docs/operations.md, 'On PostgreSQL')"
        )


def cmd_backup(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    """`python -m bot backup PATH`; errors are one line on stderr."""
    try:
        _sqlite_only(args, env)
        secret = existing_secret(env, config.secret_path(env))
        db = args.db or config.db_path(env)
        contents = backup(db, secret, args.path, passphrase(env, confirm=True), utc_now())
    except (BackupError, SecretError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out.write(
        f"wrote {args.path} (mode 0600): the database {db} (schema version {contents.schema}, "
        f"{len(contents.database):,} bytes) and its secret, encrypted with the passphrase.\n"
        "Keep the passphrase apart from the file: without it the backup cannot be opened.\n"
    )
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, env: Mapping[str, str], out: TextIO) -> int:
    """`python -m bot restore PATH`; errors are one line on stderr."""
    db = args.db or config.db_path(env)
    secret_path = args.secret_file or config.secret_path(env)
    try:
        _sqlite_only(args, env)
        done = restore(args.path, passphrase(env, confirm=False), db, secret_path, args.force)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    upgrade = (
        "" if done.schema == len(MIGRATIONS) else f"; the bot upgrades it to version {len(MIGRATIONS)} when it starts"
    )
    out.write(
        f"restored the backup of {done.created}: the database to {done.db} (schema version {done.schema}{upgrade}) "
        f"and the secret to {done.secret}.\n"
    )
    if env.get("BOT_SECRET") and env["BOT_SECRET"].strip().encode() != done.secret.read_bytes().strip():
        out.write("note: BOT_SECRET is set and differs from the restored secret; the bot uses BOT_SECRET.\n")
    return EXIT_OK
