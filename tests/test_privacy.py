"""Keys and seals: stable pseudonyms, seals that fail closed, a secret kept 0600."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from bot.privacy import Keyring, SecretError, load_secret

SECRET = b"0123456789abcdef0123456789abcdef"
CHAT_ID = 987654321


def test_user_key_is_stable_and_differs_per_transport_chat_and_secret() -> None:
    ring = Keyring(SECRET)
    key = ring.user_key("telegram", CHAT_ID)
    assert key == Keyring(SECRET).user_key("telegram", str(CHAT_ID)) and len(key) == 32
    assert key != ring.user_key("signal", CHAT_ID)
    assert key != ring.user_key("telegram", CHAT_ID + 1)
    assert key != Keyring(SECRET + b"x").user_key("telegram", CHAT_ID)
    assert str(CHAT_ID).encode() not in key


def test_sealed_bytes_round_trip_with_their_context() -> None:
    ring = Keyring(SECRET)
    for plaintext in (b"", b"hello", bytes(range(256)) * 4):
        assert ring.unseal(ring.seal(plaintext, b"case:K7Q2"), b"case:K7Q2") == plaintext
    assert ring.unseal(ring.seal(b"no context")) == b"no context"


def test_sealed_chat_id_opens_only_with_the_same_secret_and_context() -> None:
    ring = Keyring(SECRET)
    token = ring.seal_chat_id(CHAT_ID, b"case:K7Q2")
    assert str(CHAT_ID).encode() not in token and CHAT_ID.to_bytes(4, "big") not in token
    assert ring.unseal_chat_id(token, b"case:K7Q2") == CHAT_ID
    assert ring.unseal_chat_id(token, b"case:OTHER") is None
    assert ring.unseal_chat_id(token) is None
    assert Keyring(SECRET + b"x").unseal_chat_id(token, b"case:K7Q2") is None


def test_a_seal_with_any_byte_flipped_fails_closed() -> None:
    ring = Keyring(SECRET)
    token = ring.seal(b"hello", b"ctx")
    for i in range(len(token)):
        tampered = token[:i] + bytes([token[i] ^ 0x01]) + token[i + 1 :]
        assert ring.unseal(tampered, b"ctx") is None


def test_a_truncated_or_empty_seal_fails_closed() -> None:
    ring = Keyring(SECRET)
    token = ring.seal(b"hello")
    for length in (0, 1, 11, 12, 13, 27, 28, len(token) - 1):
        assert ring.unseal(token[:length]) is None
    assert ring.unseal_chat_id(token[:-1]) is None


def test_a_sealed_value_that_is_not_a_number_is_no_chat_id() -> None:
    ring = Keyring(SECRET)
    assert ring.unseal_chat_id(ring.seal(b"not a number")) is None
    assert ring.unseal_chat_id(ring.seal(b"\xff\xfe")) is None


def test_two_seals_of_the_same_value_differ() -> None:
    ring = Keyring(SECRET)
    assert ring.seal(b"same") != ring.seal(b"same")


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "deeper" / "secret"
    first = load_secret({}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert len(first) == 64 and bytes.fromhex(first.decode())
    second = load_secret({}, path)
    assert second == first
    assert Keyring(first).user_key("telegram", CHAT_ID) == Keyring(second).user_key("telegram", CHAT_ID)
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret"]  # no temporary file left behind


def test_processes_racing_to_create_the_secret_all_get_the_same_one(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    start = threading.Barrier(8)
    results: list[bytes] = []

    def load() -> None:
        start.wait()
        results.append(load_secret({}, path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1


def test_secret_from_the_environment_wins(tmp_path: Path) -> None:
    named = tmp_path / "named"
    env = {"BOT_SECRET": "a" * 20, "BOT_SECRET_FILE": str(named)}
    assert load_secret(env, tmp_path / "secret") == b"a" * 20
    assert not (tmp_path / "secret").exists() and not named.exists()


def test_secret_file_named_in_the_environment_is_used(tmp_path: Path) -> None:
    named = tmp_path / "elsewhere"
    secret = load_secret({"BOT_SECRET_FILE": str(named)}, tmp_path / "secret")
    assert named.read_bytes().strip() == secret and not (tmp_path / "secret").exists()


def test_a_short_or_blank_environment_secret_is_refused_by_name(tmp_path: Path) -> None:
    for weak in ("short", " " * 20):
        with pytest.raises(SecretError, match="BOT_SECRET is too short"):
            load_secret({"BOT_SECRET": weak}, tmp_path / "secret")


@pytest.mark.parametrize("content", ["", "\n", "tooshort"])
def test_an_empty_or_short_secret_file_is_refused_naming_the_file(tmp_path: Path, content: str) -> None:
    weak = tmp_path / "weak"
    weak.write_text(content)
    with pytest.raises(SecretError, match=str(weak)):
        load_secret({"BOT_SECRET_FILE": str(weak)}, tmp_path / "secret")
    assert weak.read_text() == content  # an operator's file is never overwritten


def test_an_unreadable_secret_path_is_refused_naming_it(tmp_path: Path) -> None:
    directory = tmp_path / "a_directory"
    directory.mkdir()
    with pytest.raises(SecretError, match=str(directory)):
        load_secret({}, directory)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SecretError, match=str(blocker / "secret")):
        load_secret({}, blocker / "secret")


def test_keyring_refuses_a_short_secret() -> None:
    with pytest.raises(SecretError):
        Keyring(b"short")


def test_keyring_never_shows_the_secret() -> None:
    assert "0123456789abcdef" not in repr(Keyring(SECRET))
