"""The command line: `python -m bot backup PATH` and `python -m bot restore PATH`, with their passphrase."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot import config
from bot.ops.backup.database import backup, restore
from bot.ops.backup.sealed import BackupError
from bot.privacy.keys import SecretError, find_secret
from bot.store.sqlite import MIGRATIONS

MIN_PASSPHRASE = 12
PASSPHRASE_ENV = "BOT_BACKUP_PASSPHRASE"
EXIT_OK, EXIT_USAGE = 0, 2


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


def utc_now() -> datetime:
    """The clock backups are stamped with."""
    return datetime.now(UTC)


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
