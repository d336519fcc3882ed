"""Keys and seals: stable pseudonyms, seals that fail closed, a secret kept 0600."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from bot.privacy.keys import Binding, Finding, Keyring, SecretError, bind_secret, find_secret
from bot.privacy.keys.binding import diagnose_secret
from bot.privacy.keys.secret import Secret, estimated_bits, load_secret

SECRET = b"0123456789abcdef0123456789abcdef"
STRONG = "q8Zt-3vKpX_m0RwL7yNcB2hJfD9sGaE4uT6iOeWk1xY"  # as secrets.token_urlsafe(32) makes them
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
    env = {"BOT_SECRET": STRONG, "BOT_SECRET_FILE": str(named)}
    assert load_secret(env, tmp_path / "secret") == STRONG.encode()
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


# -- the secret apart from the data: private, strong, and the one the database was used with ------


@pytest.mark.parametrize(
    "weak", ["aaaaaaaaaaaaaaaa", "0123456789abcdef0123", "abcdefghijklmnopqrstuvwxyz", "password12345678"]
)
def test_a_guessable_environment_secret_is_refused_with_how_to_make_a_good_one(weak: str, tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="BOT_SECRET is too easy to guess") as refused:
        find_secret({"BOT_SECRET": weak}, tmp_path / "secret", create_default=False)
    assert "secrets.token_urlsafe(32)" in str(refused.value) and "openssl rand -base64 32" in str(refused.value)
    assert weak not in str(refused.value)


def test_a_guessable_secret_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    weak = tmp_path / "secret"
    weak.write_text("aaaaaaaaaaaaaaaaaaaaaaaa\n")
    weak.chmod(0o600)
    with pytest.raises(SecretError, match=f"{weak} is too easy to guess"):
        find_secret({"BOT_SECRET_FILE": str(weak)}, tmp_path / "other", create_default=False)


def test_made_and_recommended_secrets_count_as_strong() -> None:
    import secrets

    for _ in range(50):
        assert estimated_bits(secrets.token_urlsafe(32).encode()) > 150
        assert estimated_bits(secrets.token_hex(32).encode()) > 150
    assert estimated_bits(b"correct horse battery staple") >= 64


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_an_existing_secret_file_others_can_read_is_refused_with_the_chmod_fix(mode: int, tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(STRONG)
    path.chmod(mode)
    with pytest.raises(SecretError) as refused:
        find_secret({"BOT_SECRET_FILE": str(path)}, tmp_path / "other", create_default=False)
    assert f"chmod 600 {path}" in str(refused.value) and f"{mode:04o}" in str(refused.value)
    assert stat.S_IMODE(path.stat().st_mode) == mode  # the operator's file is left for them to fix


def test_run_finds_no_secret_in_the_data_folder_by_default_and_says_where_to_put_one(tmp_path: Path) -> None:
    default = tmp_path / "data" / "secret"
    with pytest.raises(SecretError, match="no secret is set for `run`") as refused:
        find_secret({}, default, create_default=False)
    assert "BOT_SECRET_FILE" in str(refused.value) and "bot-secret" in str(refused.value)
    assert not default.exists()


def test_a_systemd_credential_is_used_before_a_secret_file(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "bot-secret").write_text(STRONG + "\n")
    named = tmp_path / "named"
    found = find_secret(
        {"CREDENTIALS_DIRECTORY": str(credentials), "BOT_SECRET_FILE": str(named)}, tmp_path / "d", create_default=False
    )
    assert found.value == STRONG.encode() and "systemd credential" in found.where and not found.created
    assert not named.exists()
    assert (
        find_secret(
            {"CREDENTIALS_DIRECTORY": str(credentials), "BOT_SECRET": STRONG[::-1]},
            tmp_path / "d",
            create_default=False,
        ).where
        == "BOT_SECRET"
    )


def test_a_secret_file_made_now_says_so(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "secret"
    first = find_secret({"BOT_SECRET_FILE": str(path)}, tmp_path / "d", create_default=False)
    again = find_secret({"BOT_SECRET_FILE": str(path)}, tmp_path / "d", create_default=False)
    assert first.created and not again.created and first.value == again.value
    assert repr(first).count(first.value.decode()) == 0


MADE = Secret(b"x" * 32, "the secret file /etc/bot/secret", Path("/etc/bot/secret"), created=True)
KEPT = Secret(b"x" * 32, "BOT_SECRET")


def test_a_secret_made_now_for_a_database_with_people_is_refused_as_missing() -> None:
    with pytest.raises(
        SecretError,
        match="the secret for this database is missing: restore it from your backup, or start over with --new-secret",
    ):
        bind_secret(MADE, b"c" * 32, None, holds_people=True, new_secret=False)


def test_a_secret_that_does_not_match_the_recorded_check_is_refused() -> None:
    with pytest.raises(SecretError, match="BOT_SECRET is not the one this database was used with"):
        bind_secret(KEPT, b"c" * 32, b"d" * 32, holds_people=False, new_secret=False)


def test_binding_the_secret_to_the_database() -> None:
    assert bind_secret(MADE, b"c" * 32, None, holds_people=False, new_secret=False) is Binding.RECORD
    assert bind_secret(KEPT, b"c" * 32, None, holds_people=True, new_secret=False) is Binding.RECORD  # older database
    assert bind_secret(KEPT, b"c" * 32, b"c" * 32, holds_people=True, new_secret=False) is Binding.MATCHES
    assert bind_secret(KEPT, b"c" * 32, b"d" * 32, holds_people=True, new_secret=True) is Binding.START_OVER
    assert bind_secret(MADE, b"c" * 32, None, holds_people=True, new_secret=True) is Binding.START_OVER


def test_the_check_value_tells_secrets_apart_and_does_not_contain_the_secret() -> None:
    check = Keyring(SECRET).check_value()
    assert check == Keyring(SECRET).check_value() != Keyring(SECRET + b"x").check_value()
    assert SECRET not in check and len(check) == 32
    assert check != Keyring(SECRET).user_key("telegram", CHAT_ID)


def test_doctor_reports_a_good_secret_and_each_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    kept = tmp_path / "etc-secret"
    kept.write_text(STRONG)
    kept.chmod(0o600)
    env = {"BOT_SECRET_FILE": str(kept)}
    check = Keyring(STRONG.encode()).check_value()
    assert all(f.ok for f in diagnose_secret(env, data / "secret", check))
    assert Finding(True, "the secret matches the database") in diagnose_secret(env, data / "secret", check)
    wrong = diagnose_secret(env, data / "secret", b"0" * 32)
    assert [f.ok for f in wrong] == [True, False] and "does not match" in wrong[-1].text
    kept.chmod(0o644)
    (loose,) = diagnose_secret(env, data / "secret", check)
    assert not loose.ok and "chmod 600" in loose.text
    (missing,) = diagnose_secret({}, data / "secret", check)
    assert not missing.ok and not (data / "secret").exists()  # doctor never makes one
    beside = data / "secret"
    beside.write_text(STRONG)
    beside.chmod(0o600)
    assert any(not f.ok and "in the data folder" in f.text for f in diagnose_secret({}, beside, check))


async def test_doctor_reads_the_databases_check_value_without_changing_the_database(tmp_path: Path) -> None:
    from bot.privacy.keys import secret_findings
    from bot.store import open_store

    db = tmp_path / "data" / "bot.sqlite3"
    kept = tmp_path / "etc-secret"
    kept.write_text(STRONG)
    kept.chmod(0o600)
    env = {"BOT_SECRET_FILE": str(kept)}
    assert [f.ok for f in secret_findings(env, db, tmp_path / "data" / "secret")] == [True, True]  # no database yet
    assert not db.exists()
    store = await open_store(db)
    await store.set_secret_check(Keyring(STRONG.encode()).check_value())
    await store.close()
    before = db.read_bytes()
    findings = secret_findings(env, db, tmp_path / "data" / "secret")
    assert Finding(True, "the secret matches the database") in findings and all(f.ok for f in findings)
    assert db.read_bytes() == before
    beside = tmp_path / "data" / "secret"
    beside.write_text(STRONG)
    beside.chmod(0o600)
    assert any("in the data folder" in f.text for f in secret_findings({"BOT_SECRET_FILE": str(beside)}, db, beside))
