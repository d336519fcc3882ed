"""Pseudonymous keys and sealed links: what lets the database identify no one.

A user is known only by HMAC-SHA256(secret, "transport:chat_id"); the one reversible link the bot needs
(an open case's address) is sealed under a key derived from the same secret (keyring). The secret is
kept apart from the data, refused when others can read its file or when it is guessable (secret), and
checked against the database it belongs to (binding).
"""

from bot.privacy.keys.binding import Binding, Finding, bind_secret, secret_findings
from bot.privacy.keys.keyring import Keyring
from bot.privacy.keys.secret import SecretError, find_secret, make_private_dir

__all__ = [
    "Binding",
    "Finding",
    "Keyring",
    "SecretError",
    "bind_secret",
    "find_secret",
    "make_private_dir",
    "secret_findings",
]
