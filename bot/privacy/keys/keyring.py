"""The Keyring: pseudonymous user keys and sealed links, all derived from the secret.

A user is known only by HMAC-SHA256(secret, "transport:chat_id"). The one reversible link the bot
needs (an open case's address, `telegram:<chat id>` or `signal:<ACI UUID>`) is sealed with AES-GCM
under a key derived from the same secret.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.privacy.keys.secret import MIN_SECRET, SecretError

NONCE = 12
LEGACY_CHAT_ID = re.compile(r"-?[0-9]+")  # what case links held before they named their transport
TRANSPORT_NAME = re.compile(r"[a-z]+")
SEAL_INFO = b"signpost-bot seal v1"
CHECK_LABEL = b"signpost-bot secret check v1"


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
