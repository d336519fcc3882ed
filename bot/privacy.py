"""Pseudonymous keys and sealed links: what lets the database identify no one.

A user is known only by HMAC-SHA256(secret, "transport:chat_id"). The one reversible link the bot
needs (an open case's chat id) is sealed with AES-GCM under a key derived from the same secret.
"""

from __future__ import annotations

import errno
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_SECRET = 16
NONCE = 12
SEAL_INFO = b"signpost-bot seal v1"


class SecretError(Exception):
    """The secret is missing, unreadable or too weak; the message names where it came from."""


def load_secret(env: Mapping[str, str], default_path: Path) -> bytes:
    """`BOT_SECRET`, else the file `BOT_SECRET_FILE` or `default_path`, created 0600 on first run."""
    if env.get("BOT_SECRET"):
        value = env["BOT_SECRET"]
        if len(value.strip()) < MIN_SECRET:
            raise SecretError(f"BOT_SECRET is too short: use at least {MIN_SECRET} characters")
        return value.encode()
    path = Path(env["BOT_SECRET_FILE"]) if env.get("BOT_SECRET_FILE") else default_path
    if not path.exists():
        _create_secret_file(path)
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"cannot read the secret file {path}: {exc.strerror or exc}") from None
    if len(value) < MIN_SECRET:
        raise SecretError(
            f"the secret file {path} is empty or too short (at least {MIN_SECRET} characters); "
            "delete it to have a new one made, or write a longer secret into it"
        )
    return value


def make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents with mode 0700; existing ones are left as they are."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    if not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{directory} is not a directory")
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass  # made by another process meanwhile


def _create_secret_file(path: Path) -> None:
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
            pass
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise SecretError(f"cannot create the secret file {path}: {exc.strerror or exc}") from None


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

    def seal_chat_id(self, chat_id: int, context: bytes = b"") -> bytes:
        """Seal a chat id (the only reversible identifier the bot ever keeps, while a case is open)."""
        return self.seal(str(chat_id).encode(), context)

    def unseal_chat_id(self, token: bytes, context: bytes = b"") -> int | None:
        """The chat id, or None if the seal cannot be opened."""
        plain = self.unseal(token, context)
        if plain is None:
            return None
        try:
            return int(plain.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
