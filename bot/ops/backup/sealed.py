"""The backup file format: a short header (format, scrypt parameters, salt, nonce) and one AES-GCM ciphertext.

The key comes from scrypt over a passphrase; the ciphertext holds a manifest, the secret and a copy of the
database. The header is the AES-GCM associated data, so it cannot be changed unnoticed.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from bot.errors import BotError

MAGIC = b"SIGNPOST-BACKUP\n"
FORMAT = 1
# scrypt cost: n=2**15, r=8 takes about 32 MiB and a tenth of a second, once per backup or restore.
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
SALT, NONCE = 16, 12
_HEADER = struct.Struct(f">{len(MAGIC)}sBBBB{SALT}s{NONCE}s")


class BackupError(BotError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Contents:
    """What a backup holds once opened."""

    secret: bytes
    database: bytes
    schema: int
    created: str


def _key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log_n, r=r, p=p).derive(passphrase.encode())


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
