"""Keys and seals: stable pseudonyms, seals that fail closed, a secret kept 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.privacy import Keyring, SecretError, load_secret

SECRET = b"0123456789abcdef0123456789abcdef"


def test_user_key_is_stable_and_differs_per_transport_chat_and_secret() -> None:
    ring = Keyring(SECRET)
    key = ring.user_key("telegram", 987654321)
    assert key == Keyring(SECRET).user_key("telegram", "987654321") and len(key) == 32
    assert key != ring.user_key("signal", 987654321)
    assert key != ring.user_key("telegram", 987654322)
    assert key != Keyring(SECRET + b"x").user_key("telegram", 987654321)
    assert b"987654321" not in key


def test_sealed_chat_id_opens_only_with_the_same_secret_and_context() -> None:
    ring = Keyring(SECRET)
    token = ring.seal_chat_id(987654321, b"case:K7Q2")
    assert b"987654321" not in token and (987654321).to_bytes(4, "big") not in token
    assert ring.unseal_chat_id(token, b"case:K7Q2") == 987654321
    assert ring.unseal_chat_id(token, b"case:OTHER") is None
    assert Keyring(SECRET + b"x").unseal_chat_id(token, b"case:K7Q2") is None


def test_damaged_or_truncated_seal_fails_closed() -> None:
    ring = Keyring(SECRET)
    token = ring.seal(b"hello")
    tampered = token[:-1] + bytes([token[-1] ^ 1])
    assert ring.unseal(tampered) is None
    assert ring.unseal(token[:10]) is None and ring.unseal(b"") is None


def test_two_seals_of_the_same_value_differ() -> None:
    ring = Keyring(SECRET)
    assert ring.seal(b"same") != ring.seal(b"same")


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret"
    first = load_secret({}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret({}, path) == first and len(first) >= 32


def test_secret_from_the_environment_wins(tmp_path: Path) -> None:
    assert load_secret({"BOT_SECRET": "a" * 20}, tmp_path / "secret") == b"a" * 20
    assert not (tmp_path / "secret").exists()


def test_secret_file_named_in_the_environment_is_used(tmp_path: Path) -> None:
    named = tmp_path / "elsewhere"
    load_secret({"BOT_SECRET_FILE": str(named)}, tmp_path / "secret")
    assert named.exists() and not (tmp_path / "secret").exists()


def test_weak_or_empty_secrets_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="BOT_SECRET is too short"):
        load_secret({"BOT_SECRET": "short"}, tmp_path / "secret")
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(SecretError, match=str(empty)):
        load_secret({"BOT_SECRET_FILE": str(empty)}, tmp_path / "secret")


def test_keyring_never_shows_the_secret() -> None:
    assert "0123456789abcdef" not in repr(Keyring(SECRET))
