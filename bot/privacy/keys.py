"""Pseudonymous keys and sealed links: what lets the database identify no one.

A user is known only by HMAC-SHA256(secret, "transport:chat_id"). The one reversible link the bot
needs (an open case's address, `telegram:<chat id>` or `signal:<ACI UUID>`) is sealed with AES-GCM
under a key derived from the same secret.

The secret is what turns a copy of the database back into people, so it is kept apart from the data
(the environment, a systemd credential, or a file elsewhere), refused when others can read its file
or when it is guessable, and checked against the database it belongs to.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import hmac
import math
import os
import re
import secrets
import sqlite3
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.errors import BotError

MIN_SECRET = 16
MIN_BITS = 64  # an estimate of how hard the secret is to guess; a made one has about 250
NONCE = 12
LEGACY_CHAT_ID = re.compile(r"-?[0-9]+")  # what case links held before they named their transport
TRANSPORT_NAME = re.compile(r"[a-z]+")
SEAL_INFO = b"signpost-bot seal v1"
CHECK_LABEL = b"signpost-bot secret check v1"
CREDENTIAL = "bot-secret"  # systemd: LoadCredential=bot-secret:/etc/signpost-bot/secret
HOW_TO_MAKE = (
    'make a good one with `python -c "import secrets; print(secrets.token_urlsafe(32))"` or `openssl rand -base64 32`'
)
NO_SECRET = (
    "no secret is set for `run`: keep it apart from the data folder, in BOT_SECRET_FILE (a file only the bot's "
    "user can read, e.g. /etc/signpost-bot/secret), a systemd credential named bot-secret, or BOT_SECRET; "
    + HOW_TO_MAKE
)


class SecretError(BotError):
    """The secret is missing, unreadable or too weak; the message names where it came from."""


@dataclass(frozen=True)
class Secret:
    """The secret and where it came from (for messages and `doctor`); the value never shows in a repr."""

    value: bytes = field(repr=False)
    where: str  # "BOT_SECRET", "the systemd credential …", "the secret file …"
    path: Path | None = None
    created: bool = False  # made just now: no database can have been used with it yet


def estimated_bits(value: bytes) -> float:
    """A cautious guess of the secret's strength in bits: repeats and runs (aaaa, 1234, abcd) count for nothing."""
    text = value.decode("utf-8", "replace")
    if not text:
        return 0.0
    pool = sum(size for test, size in ((str.islower, 26), (str.isupper, 26), (str.isdigit, 10)) if any(map(test, text)))
    pool += 33 if any(not (c.isascii() and c.isalnum()) for c in text) else 0
    fresh = sum(1 for before, char in zip("\0" + text, text, strict=False) if abs(ord(char) - ord(before)) > 1)
    counts = Counter(text).values()
    shannon = -sum(n / len(text) * math.log2(n / len(text)) for n in counts) * len(text)
    return max(0.0, min(fresh * math.log2(max(pool, 2)), shannon))


def strength_problem(value: bytes, where: str) -> str | None:
    """Why the secret from `where` is too weak, with how to make a good one; None when it is strong enough."""
    if len(value) < MIN_SECRET:
        return f"the secret in {where} is too short (at least {MIN_SECRET} characters): {HOW_TO_MAKE}"
    if estimated_bits(value) < MIN_BITS:
        return f"the secret in {where} is too easy to guess (repeated or in sequence): {HOW_TO_MAKE}"
    return None


def mode_problem(path: Path) -> str | None:
    """Why others could read or change the secret file, with the fix; None when only its owner can."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        return f"cannot read the secret file {path}: {exc.strerror or exc}"
    if mode & 0o077:
        return f"the secret file {path} can be read by others (mode {mode:04o}): run `chmod 600 {path}`"
    return None


def find_secret(env: Mapping[str, str], default_path: Path, *, create_default: bool) -> Secret:
    """`BOT_SECRET`, else the systemd credential `bot-secret`, else the file `BOT_SECRET_FILE` (made if
    missing), else `default_path`, made if missing only when `create_default` (the console's easy default).

    Raises SecretError when none is given, or the one given is unreadable, readable by others, or weak.
    """
    if env.get("BOT_SECRET"):
        value = env["BOT_SECRET"].strip().encode()
        problem = strength_problem(value, "BOT_SECRET")
        if problem:
            raise SecretError(problem)
        return Secret(value, "BOT_SECRET")
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL).is_file():
        # systemd makes the credential readable by the service alone, so its mode is not second-guessed.
        path = Path(credentials) / CREDENTIAL
        return Secret(_read_secret(path, f"the systemd credential {path}"), f"the systemd credential {path}", path)
    if env.get("BOT_SECRET_FILE"):
        path, create = Path(env["BOT_SECRET_FILE"]), True
    else:
        path, create = default_path, create_default
    created = False
    if not path.exists():
        if not create:
            raise SecretError(NO_SECRET)
        created = _create_secret_file(path)
    elif path.is_file():
        problem = mode_problem(path)
        if problem:
            raise SecretError(problem)
    where = f"the secret file {path}"
    return Secret(_read_secret(path, where), where, path, created)


def _read_secret(path: Path, where: str) -> bytes:
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"cannot read {where}: {exc.strerror or exc}") from None
    if len(value) < MIN_SECRET:
        raise SecretError(
            f"{where} is empty or too short (at least {MIN_SECRET} characters); "
            f"delete it to have a new one made, or {HOW_TO_MAKE}"
        )
    problem = strength_problem(value, where)
    if problem:
        raise SecretError(problem)
    return value


def load_secret(env: Mapping[str, str], default_path: Path) -> bytes:
    """The secret as `find_secret` finds it, making `default_path` 0600 if nothing else is given."""
    return find_secret(env, default_path, create_default=True).value


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


def make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700; existing ones are left as they are."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{directory} is not a directory")
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process meanwhile
            path.mkdir(mode=0o700)


def _create_secret_file(path: Path) -> bool:
    """Make a new random secret file; False if another process made one meanwhile (theirs is used)."""
    # Written whole under a temporary name, then hard-linked into place: the link is atomic and never
    # replaces a file, so no reader ever sees a half-written secret and a racing process's secret wins.
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        make_private_dir(path.parent)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp, path)
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretError(f"cannot create the secret file {path}: {exc.strerror or exc}") from None
    return True


@dataclass(frozen=True)
class Keyring:
    """Everything derived from the secret. The secret itself never leaves this object."""

    secret: bytes = field(repr=False)
    _aead: AESGCM = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET:
            raise SecretError(f"the secret is too short: use at least {MIN_SECRET} bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_INFO).derive(self.secret)
        object.__setattr__(self, "_aead", AESGCM(key))

    def user_key(self, transport: str, chat_id: int | str) -> bytes:
        """The pseudonymous 32-byte key for one user of one transport."""
        return hmac.digest(self.secret, f"{transport}:{chat_id}".encode(), "sha256")

    def check_value(self) -> bytes:
        """An HMAC of a fixed label, kept in the database to tell a wrong secret; it reveals nothing of it."""
        return hmac.digest(self.secret, CHECK_LABEL, "sha256")

    def token(self, purpose: str) -> str:
        """A stable hex token for `purpose` (e.g. a webhook secret), unguessable without the secret."""
        return hmac.digest(self.secret, f"token:{purpose}".encode(), "sha256").hex()

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """Encrypt and authenticate; `context` binds the seal to where it is stored."""
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def unseal(self, token: bytes, context: bytes = b"") -> bytes | None:
        """The plaintext, or None for a wrong secret, wrong context, or a damaged token."""
        if len(token) <= NONCE:
            return None
        try:
            return self._aead.decrypt(token[:NONCE], token[NONCE:], context)
        except (InvalidTag, ValueError, TypeError):
            return None

    def seal_address(self, address: str, context: bytes = b"") -> bytes:
        """Seal a user's address, `transport:id` (the only reversible identifier the bot keeps, while a case "
        "is open)."""
        return self.seal(address.encode(), context)

    def unseal_address(self, token: bytes, context: bytes = b"") -> str | None:
        """The address as `transport:id`, or None if the seal cannot be opened or holds no address.

        Links sealed before addresses named their transport hold a bare Telegram chat id: they come back
        as `telegram:<id>`, since re-sealing them would need the secret inside a schema migration.
        """
        plain = self.unseal(token, context)
        if plain is None:
            return None
        try:
            text = plain.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if LEGACY_CHAT_ID.fullmatch(text):
            return f"telegram:{text}"
        transport, _, local = text.partition(":")
        return text if TRANSPORT_NAME.fullmatch(transport) and local else None

    def seal_chat_id(self, chat_id: int, context: bytes = b"") -> bytes:
        """Seal a Telegram chat id as the address `telegram:<id>`."""
        return self.seal_address(f"telegram:{chat_id}", context)

    def unseal_chat_id(self, token: bytes, context: bytes = b"") -> int | None:
        """The Telegram chat id of a sealed address, or None if it is no Telegram chat (or cannot be opened)."""
        address = self.unseal_address(token, context)
        transport, _, local = (address or "").partition(":")
        return int(local) if transport == "telegram" and LEGACY_CHAT_ID.fullmatch(local) else None
