"""Whether the secret belongs to the database: the check value it records, what `run` does about it, and
what `doctor` reports."""

from __future__ import annotations

import enum
import hmac
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.privacy.keys.keyring import Keyring
from bot.privacy.keys.secret import Secret, SecretError, find_secret


class Binding(enum.Enum):
    """What to do about the database's record of the secret it was used with."""

    MATCHES = "matches"
    RECORD = "record"  # nothing recorded yet: record this secret's check value
    START_OVER = "start over"  # --new-secret: delete what the old secret protected, record the new one


def bind_secret(secret: Secret, check: bytes, recorded: bytes | None, holds_people: bool, new_secret: bool) -> Binding:
    """Decide whether `secret` belongs to the database; raises SecretError when it is missing or wrong.

    `check` is the secret's check value, `recorded` the one the database holds, `holds_people` whether
    it has sessions or cases. A secret made just now for a database with people means the real one is lost.
    """
    if recorded is not None and hmac.compare_digest(recorded, check):
        return Binding.MATCHES
    if new_secret and (recorded is not None or holds_people):
        return Binding.START_OVER
    if secret.created and (recorded is not None or holds_people):
        raise SecretError(
            "the secret for this database is missing: restore it from your backup, or start over with "
            f"--new-secret (saved sessions and open cases are then deleted); a new one was made at {secret.where}"
        )
    if recorded is not None:
        raise SecretError(
            f"the secret from {secret.where} is not the one this database was used with: restore the right one "
            "from your backup, or start over with --new-secret (saved sessions and open cases are then deleted)"
        )
    return Binding.RECORD


def secret_matches(keyring: Keyring, recorded: bytes | None) -> bool | None:
    """Whether the secret is the one the database was used with; None when the database recorded none."""
    return None if recorded is None else hmac.compare_digest(recorded, keyring.check_value())


@dataclass(frozen=True)
class Finding:
    """One line of a health check: whether it passed, and what to do when it didn't."""

    ok: bool
    text: str


def recorded_check(db: Path) -> bytes | None:
    """The secret's check value recorded in the database at `db`, read without changing anything; None if none."""
    try:
        reader = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = reader.execute("SELECT value FROM secret_check WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None  # no database there yet, or one from before the check was recorded
    finally:
        reader.close()
    return bytes(row[0]) if row else None


def secret_findings(env: Mapping[str, str], db: Path, default_path: Path) -> list[Finding]:
    """For `doctor`: `diagnose_secret` against the database at `db`."""
    return diagnose_secret(env, default_path, recorded_check(db), db.parent)


def diagnose_secret(
    env: Mapping[str, str], default_path: Path, recorded: bytes | None, data_dir: Path | None = None
) -> list[Finding]:
    """For `doctor`: the secret is present, private, strong, kept apart from the data and matches the
    database's record (`recorded`); never creates one."""
    try:
        secret = find_secret(env, default_path, create_default=False)
    except SecretError as exc:
        return [Finding(False, str(exc))]
    findings = [Finding(True, f"the secret is in {secret.where}, private and strong")]
    data_dirs = {default_path.parent.resolve(), *((data_dir.resolve(),) if data_dir else ())}
    if (
        secret.path is not None
        and secret.path.parent.resolve() in data_dirs
        and secret.where.startswith("the secret file")
    ):
        findings.append(
            Finding(False, f"{secret.where} is in the data folder: move it elsewhere and set BOT_SECRET_FILE")
        )
    matches = secret_matches(Keyring(secret.value), recorded)
    if matches is None:
        findings.append(Finding(True, "the database has not recorded a secret yet (it will on the next start)"))
    elif matches:
        findings.append(Finding(True, "the secret matches the database"))
    else:
        findings.append(
            Finding(False, "the secret does not match the database: restore the right one from your backup")
        )
    return findings
