"""Backups: the database and its secret, encrypted, taken while the bot runs, and restored after checks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from bot.engine import State
from bot.ops.backup import BackupError
from bot.ops.backup.command import existing_secret, passphrase, utc_now
from bot.ops.backup.database import backup, restore, snapshot
from bot.ops.backup.sealed import Contents, seal, unseal
from bot.privacy.keys import Keyring
from bot.store import open_store
from bot.store.sqlite.schema import MIGRATIONS
from tests.conftest import REPO
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, bot_process

PASSPHRASE = "correct horse battery staple"


async def python_m_bot(*args: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` as an operator would; (exit code, stdout, stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    clean["PYTHONPATH"] = str(REPO)  # this checkout's code, whatever the folder it runs in
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env={**clean, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def rows(db: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as look:
        return sorted(look.execute(f"SELECT * FROM {table}").fetchall())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_backup_while_the_bot_runs_restores_sessions_and_open_cases_elsewhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the bot process runs this checkout's code
    live, elsewhere, wrong = tmp_path / "live", tmp_path / "elsewhere", tmp_path / "wrong"
    live.mkdir()
    made = tmp_path / "backups" / "signpost.backup"
    async with FakeBotAPI() as api:
        async with bot_process(api, live) as bot:
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?", timeout=30)
            api.user_sends_text(USER, "/human")
            await api.wait_for_calls("createForumTopic", chat_id=STAFF, timeout=30)

            code, out, err = await python_m_bot(
                "backup",
                str(made),
                cwd=tmp_path,
                BOT_DB=str(live / "bot.sqlite3"),
                BOT_SECRET_FILE=str(live / "secret"),
                BOT_BACKUP_PASSPHRASE=PASSPHRASE,
            )
            assert code == 0, err
            assert bot.process.returncode is None  # the bot kept running
        assert bot.process.returncode == 0, bot.log
    assert "mode 0600" in out and mode(made) == 0o600
    assert PASSPHRASE.encode() not in made.read_bytes()
    assert (live / "secret").read_bytes().strip() not in made.read_bytes()

    code, out, err = await python_m_bot(
        "restore",
        str(made),
        cwd=tmp_path,
        BOT_DB=str(elsewhere / "bot.sqlite3"),
        BOT_SECRET_FILE=str(elsewhere / "secret"),
        BOT_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert code == 0, err
    assert "restored" in out
    restored_db, restored_secret = elsewhere / "bot.sqlite3", elsewhere / "secret"
    assert rows(restored_db, "sessions") == rows(live / "bot.sqlite3", "sessions") != []
    assert rows(restored_db, "cases") == rows(live / "bot.sqlite3", "cases") != []
    assert restored_secret.read_bytes() == (live / "secret").read_bytes()
    assert mode(restored_db) == 0o600 and mode(restored_secret) == 0o600
    # The restored secret still finds the user's session and opens the case's sealed link.
    keyring = Keyring(restored_secret.read_bytes().strip())
    store = await open_store(restored_db)
    try:
        assert await store.load(keyring.user_key("telegram", USER)) is not None
        (case,) = await store.open_cases()
        assert keyring.unseal_chat_id(case.sealed_chat, case.alias.encode()) == USER
    finally:
        await store.close()

    code, out, err = await python_m_bot(
        "restore",
        str(made),
        cwd=tmp_path,
        BOT_DB=str(wrong / "bot.sqlite3"),
        BOT_SECRET_FILE=str(wrong / "secret"),
        BOT_BACKUP_PASSPHRASE="not the passphrase",
    )
    assert code == 2
    assert "wrong passphrase" in err and "Traceback" not in err
    assert not wrong.exists()


async def test_restore_refuses_a_database_the_bot_has_open_even_with_force(tmp_path: Path) -> None:
    made = await backup_of_a_small_database(tmp_path)
    store = await open_store(tmp_path / "in-use.sqlite3")
    try:
        with pytest.raises(BackupError, match="in use: stop the bot first"):
            restore(made, PASSPHRASE, tmp_path / "in-use.sqlite3", tmp_path / "secret2", force=True)
    finally:
        await store.close()


async def test_restore_refuses_existing_data_or_another_secret_without_force(tmp_path: Path) -> None:
    made = await backup_of_a_small_database(tmp_path)
    other = tmp_path / "other"
    target = other / "bot.sqlite3"
    store = await open_store(target)
    await store.record(b"x" * 32, None, [("visit", "main.menu")], 1)  # a counter: data worth keeping
    await store.close()
    with pytest.raises(BackupError, match="already holds sessions or cases"):
        restore(made, PASSPHRASE, target, other / "secret", force=False)

    target.unlink()
    (other / "secret").write_text("a different secret entirely\n")
    with pytest.raises(BackupError, match="holds a different secret"):
        restore(made, PASSPHRASE, target, other / "secret", force=False)
    assert (other / "secret").read_text() == "a different secret entirely\n"

    done = restore(made, PASSPHRASE, target, other / "secret", force=True)
    assert rows(done.db, "sessions") == rows(tmp_path / "bot.sqlite3", "sessions")
    assert (other / "secret").read_bytes().strip() == b"s" * 32


async def test_restore_refuses_a_schema_newer_than_the_code(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    database, schema = snapshot(newer)
    made = tmp_path / "newer.backup"
    made.write_bytes(seal(Contents(b"s" * 32, database, schema, "2026-01-01T00:00:00+00:00"), PASSPHRASE))
    with pytest.raises(BackupError, match=r"newer than this code .*upgrade the bot first"):
        restore(made, PASSPHRASE, tmp_path / "new" / "bot.sqlite3", tmp_path / "new" / "secret", force=False)
    assert not (tmp_path / "new" / "bot.sqlite3").exists()


async def test_a_damaged_or_foreign_file_is_refused_clearly(tmp_path: Path) -> None:
    made = await backup_of_a_small_database(tmp_path)
    blob = bytearray(made.read_bytes())
    blob[-5] ^= 0xFF
    with pytest.raises(BackupError, match="wrong passphrase, or the backup file is damaged"):
        unseal(bytes(blob), PASSPHRASE)
    with pytest.raises(BackupError, match="not a signpost-bot backup"):
        unseal(b"SQLite format 3\x00" + bytes(200), PASSPHRASE)


async def test_backup_never_makes_a_new_secret_to_back_up(tmp_path: Path) -> None:
    await (await open_store(tmp_path / "bot.sqlite3")).close()
    code, _, err = await python_m_bot(
        "backup",
        str(tmp_path / "b"),
        cwd=tmp_path,
        BOT_DB=str(tmp_path / "bot.sqlite3"),
        BOT_SECRET_FILE=str(tmp_path / "missing-secret"),
        BOT_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert code == 2 and "there is no secret at" in err
    assert not (tmp_path / "missing-secret").exists() and not (tmp_path / "b").exists()


def test_the_passphrase_is_asked_twice_for_a_backup_and_must_match() -> None:
    answers = iter(["a long passphrase here", "a different one"])
    with pytest.raises(BackupError, match="the two passphrases differ"):
        passphrase({}, confirm=True, ask=lambda prompt: next(answers))
    with pytest.raises(BackupError, match="too short"):
        passphrase({"BOT_BACKUP_PASSPHRASE": "short"}, confirm=True)
    assert passphrase({}, confirm=False, ask=lambda prompt: "typed") == "typed"


async def backup_of_a_small_database(tmp_path: Path) -> Path:
    """A backup of a database with one session, secret `s`×32, under PASSPHRASE."""
    store = await open_store(tmp_path / "bot.sqlite3")
    await store.record(
        Keyring(b"s" * 32).user_key("telegram", USER), State(node="main.menu", locale="en", day=5), [], 5
    )
    await store.close()
    made = tmp_path / "small.backup"
    backup(tmp_path / "bot.sqlite3", b"s" * 32, made, PASSPHRASE, utc_now())
    return made


async def test_a_backup_of_a_stopped_bot_leaves_no_files_beside_its_database(tmp_path: Path) -> None:
    await backup_of_a_small_database(tmp_path)
    # A -shm or -wal left behind by a backup run as root would lock the bot's own user out.
    assert sorted(path.name for path in tmp_path.glob("bot.sqlite3*")) == ["bot.sqlite3"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can restore files for another user")
async def test_restored_as_root_the_database_belongs_to_its_folders_owner(tmp_path: Path) -> None:
    made = await backup_of_a_small_database(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 4321, 4321)  # the service's user owns its state folder
    done = restore(made, PASSPHRASE, state / "bot.sqlite3", tmp_path / "etc" / "secret", force=False)
    assert (done.db.stat().st_uid, done.db.stat().st_gid) == (4321, 4321)
    assert done.secret.stat().st_uid == os.geteuid()


async def test_a_file_that_is_not_a_database_is_replaced_only_with_force(tmp_path: Path) -> None:
    made = await backup_of_a_small_database(tmp_path)
    target = tmp_path / "junk" / "bot.sqlite3"
    target.parent.mkdir()
    target.write_bytes(b"not a database at all, but someone's file" * 10)
    with pytest.raises(BackupError, match="add --force"):
        restore(made, PASSPHRASE, target, tmp_path / "junk" / "secret", force=False)
    done = restore(made, PASSPHRASE, target, tmp_path / "junk" / "secret", force=True)
    assert rows(done.db, "sessions") == rows(tmp_path / "bot.sqlite3", "sessions")


def test_backup_finds_the_secret_where_run_does_a_systemd_credential_before_the_file(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "bot-secret").write_bytes(b"c" * 8 + b"Credential-0123456789xyz\n")
    env = {"CREDENTIALS_DIRECTORY": str(credentials), "BOT_SECRET_FILE": str(tmp_path / "not-there")}
    assert existing_secret(env, tmp_path / "default") == b"c" * 8 + b"Credential-0123456789xyz"
    assert not (tmp_path / "not-there").exists()


async def test_backup_and_restore_refuse_when_the_data_is_in_postgresql_and_name_pg_dump(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"s" * 40)
    stale = tmp_path / "bot.sqlite3"
    await (await open_store(stale)).close()  # an old SQLite file beside it must not be copied instead
    for command in ("backup", "restore"):
        code, _, err = await python_m_bot(
            command,
            str(tmp_path / "b"),
            cwd=tmp_path,
            BOT_DB=str(stale),
            BOT_DATABASE_URL="postgresql://bot@db.invalid/bot",
            BOT_SECRET_FILE=str(tmp_path / "secret"),
            BOT_BACKUP_PASSPHRASE=PASSPHRASE,
        )
        assert code == 2 and "data is in PostgreSQL" in err and "pg_dump" in err, (command, err)
    assert not (tmp_path / "b").exists()
