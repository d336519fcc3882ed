"""A case's user address names its transport, is sealed like the chat id was, and old links still open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.handoff.address import Address
from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.store.sqlite.schema import MIGRATIONS
from tests.test_migrations import build_at, insert

KEYRING = Keyring(b"m" * 32)
UUID = "5f0c8e2a-1b7d-4c3e-9a41-7d2e6b9c0a11"


def test_an_address_is_its_transport_and_the_users_id_there() -> None:
    assert Address.parse("signal:" + UUID) == Address("signal", UUID)
    assert str(Address.of("telegram", 123)) == "telegram:123"
    assert Address.parse("123") is None and Address.parse("signal:") is None and Address.parse(None) is None
    assert UUID not in repr(Address("signal", UUID))  # a repr in a log line names no one


def test_a_sealed_address_opens_only_with_the_same_secret_and_case() -> None:
    token = KEYRING.seal_address(f"signal:{UUID}", b"K7Q2")
    assert UUID.encode() not in token
    assert KEYRING.unseal_address(token, b"K7Q2") == f"signal:{UUID}"
    assert KEYRING.unseal_address(token, b"OTHER") is None
    assert Keyring(b"n" * 32).unseal_address(token, b"K7Q2") is None
    # A Signal address is no Telegram chat id.
    assert KEYRING.unseal_chat_id(token, b"K7Q2") is None
    assert KEYRING.unseal_chat_id(KEYRING.seal_chat_id(222, b"K7Q2"), b"K7Q2") == 222


def test_a_link_sealed_before_addresses_named_their_transport_reads_as_telegram() -> None:
    legacy = KEYRING.seal(b"222", b"K7Q2")  # how a chat id was sealed before
    assert KEYRING.unseal_address(legacy, b"K7Q2") == "telegram:222"
    assert KEYRING.unseal_chat_id(legacy, b"K7Q2") == 222
    assert KEYRING.unseal_address(KEYRING.seal(b"no address", b"K7Q2"), b"K7Q2") is None


async def test_an_open_case_from_before_the_upgrade_keeps_reaching_its_telegram_user(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = build_at(path, 5)  # the schema before case links named their transport (migration 6)
    insert(
        db,
        "cases",
        {
            "alias": "K7Q2",
            "user_key": KEYRING.user_key("telegram", 222),
            "sealed_chat": KEYRING.seal(b"222", b"K7Q2"),
            "locale": "pl",
            "path": "main.menu",
            "opened": 1,
            "active": 1,
            "thread_id": 55,
        },
    )
    db.close()
    store = await open_store(path)
    try:
        (case,) = await store.open_cases()
        assert Address.parse(KEYRING.unseal_address(case.sealed_chat, case.alias.encode())) == Address(
            "telegram", "222"
        )
    finally:
        await store.close()
    with sqlite3.connect(path) as after:
        assert after.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
