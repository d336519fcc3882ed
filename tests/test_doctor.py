"""`python -m bot doctor` against the fake Bot API: a good set-up, and each broken one as one line with its fix."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import TelegramConfig
from bot.ops.doctor.command import run_doctor
from bot.ops.doctor.local_checks import python_findings
from bot.ops.doctor.telegram_checks import telegram_findings
from bot.privacy.keys import Keyring
from bot.store import open_store
from tests.conftest import REPO
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, running_bot

SECRET = b"Zq8-vR2kLm5xTw9pBn4cYh7dJs3fGe6a"
NOW = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)
WEBHOOK = "https://bot.example.org/telegram"


def clock() -> datetime:
    return NOW


async def set_up(api: FakeBotAPI, tmp_path: Path) -> dict[str, str]:
    """What deploy.md builds: a home folder with the database, the secret apart, settings in the environment."""
    home, etc = tmp_path / "home", tmp_path / "etc"
    home.mkdir(mode=0o700)
    etc.mkdir(mode=0o700)
    secret = etc / "secret"
    secret.write_bytes(SECRET + b"\n")
    secret.chmod(0o600)
    store = await open_store(home / "bot.sqlite3")
    await store.set_secret_check(Keyring(SECRET).check_value())
    await store.close()
    return {
        "BOT_HOME": str(home),
        "BOT_SECRET_FILE": str(secret),
        "BOT_FLOWS": str(REPO / "flows"),
        "BOT_LOCALES": str(REPO / "locales"),
        "TELEGRAM_BOT_TOKEN": api.token,
        "STAFF_CHAT_ID": str(STAFF),
        "TELEGRAM_API_URL": api.api_url,
    }


async def doctor(env: dict[str, str], webhook: str | None = None) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = await run_doctor(env, out, webhook, clock)
    return code, out.getvalue().splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line.removeprefix("problem: ") for line in lines if line.startswith("problem: ")]


async def test_a_good_set_up_passes_every_check_one_line_each(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        code, lines = await doctor(await set_up(api, tmp_path))
    assert code == 0 and lines[-1] == "Everything is ready.", lines
    assert all(line.startswith("ok: ") for line in lines[:-1])
    said = "\n".join(lines)
    for fragment in (
        "Python 3.",
        "the flows in",
        "the time zone is Europe/London: it is Wed 01 Jul 12:30 (BST) there now",
        "is private to the bot's user",
        "the secret matches the database",
        "the token works: the bot is @",
        "the staff group is ready",
        "no webhook is registered, as long polling needs",
    ):
        assert fragment in said, fragment


async def test_a_wrong_token_is_named_with_where_to_get_the_right_one(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        code, lines = await doctor({**env, "TELEGRAM_BOT_TOKEN": "123456:WRONG-token_for-the-fake-server"})
    assert code == 1
    assert problems(lines) == [
        (
            "Telegram refused TELEGRAM_BOT_TOKEN: copy it again from @BotFather (/mybots → the bot "
            "→ API Token), or /revoke it there for a new one"
        )
    ]


async def test_an_unreachable_bot_api_says_what_to_check(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        api.outage = True
        code, lines = await doctor(env)
    assert code == 1
    (line,) = problems(lines)
    assert line.startswith(f"the Bot API at {api.api_url} can't be reached (NetworkError: Bad Gateway)")


async def test_a_missing_secret_is_a_problem_and_none_is_made(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        del env["BOT_SECRET_FILE"]
        code, lines = await doctor(env)
    assert code == 1
    (line,) = problems(lines)
    assert line.startswith("no secret is set for `run`")
    assert not (tmp_path / "home" / "secret").exists()


async def test_a_secret_others_can_read_and_a_database_others_can_read_are_each_told_with_chmod(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        (tmp_path / "etc" / "secret").chmod(0o644)
        (tmp_path / "home" / "bot.sqlite3").chmod(0o644)
        code, lines = await doctor(env)
    assert code == 1
    assert problems(lines) == [
        f"{tmp_path}/home/bot.sqlite3 can be read or changed by others (mode 0644): run `chmod 600 {tmp_path}/home/bot.sqlite3`",
        f"the secret file {tmp_path}/etc/secret can be read by others (mode 0644): run `chmod 600 {tmp_path}/etc/secret`",
    ]


async def test_a_database_from_newer_code_is_a_problem(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        with sqlite3.connect(tmp_path / "home" / "bot.sqlite3") as db:
            db.execute("PRAGMA user_version = 99")
        code, lines = await doctor(env)
    assert code == 1
    (line,) = problems(lines)
    assert line.startswith("the database's schema (version 99) is newer than this code")


async def test_a_secret_beside_the_database_is_a_problem(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        beside = tmp_path / "home" / "secret"
        beside.write_bytes(SECRET)
        beside.chmod(0o600)
        code, lines = await doctor({**env, "BOT_SECRET_FILE": str(beside)})
    assert code == 1
    assert problems(lines) == [
        f"the secret file {beside} is in the data folder: move it elsewhere and set BOT_SECRET_FILE"
    ]


async def test_another_secret_than_the_databases_is_a_problem(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        (tmp_path / "etc" / "secret").write_bytes(b"another-Strong-secret-9f8e7d6c5b4a\n")
        code, lines = await doctor(env)
    assert code == 1
    assert problems(lines) == ["the secret does not match the database: restore the right one from your backup"]


async def test_flows_that_do_not_load_point_to_check(tmp_path: Path, write_flows) -> None:  # type: ignore[no-untyped-def]
    flows = write_flows(main_yaml="flow: main\nstart: nowhere\nnodes: {}\n")
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        code, lines = await doctor({**env, "BOT_FLOWS": str(flows)})
    assert code == 1
    (line,) = problems(lines)
    assert line.startswith(f"the flows in {flows} have") and line.endswith(
        f"run `python -m bot check {flows}` to see them with their fixes"
    )


async def test_an_unknown_time_zone_is_a_problem(tmp_path: Path, write_flows) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import SETTINGS

    flows = write_flows(settings_yaml=SETTINGS + "time_zone: Europe/Londn\n")
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        code, lines = await doctor({**env, "BOT_FLOWS": str(flows)})
    assert code == 1
    assert (
        f"the time zone `Europe/Londn` in {flows}/settings.yaml is unknown: use a name like Europe/London "
        "(`timedatectl list-timezones` lists them)" in problems(lines)
    )


async def test_a_webhook_registered_while_the_bot_polls_is_a_problem_with_the_fix(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        api.webhook = (WEBHOOK, "token")
        code, lines = await doctor(env)
        assert code == 1
        (line,) = problems(lines)
        assert line.startswith(f"Telegram has a webhook registered ({WEBHOOK}), so long polling gets no updates")
        assert "another copy of the bot set it: stop that copy" in line
        code, lines = await doctor(env, webhook=WEBHOOK)  # the bot runs with that --webhook: all is well
        assert code == 0 and f"ok: the webhook {WEBHOOK} is registered (0 update(s) waiting at Telegram)" in lines


async def test_a_webhook_telegram_cannot_deliver_to_is_a_problem_with_telegrams_error(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        api.webhook = (WEBHOOK, "token")
        api.webhook_error = (int(NOW.timestamp()) - 120, "Connection refused")
        code, lines = await doctor(env, webhook=WEBHOOK)
        assert code == 1
        (line,) = problems(lines)
        assert line.startswith(f"Telegram could not deliver to {WEBHOOK} at 2026-07-01 11:28 UTC (Connection refused; ")
        api.webhook = None
        code, lines = await doctor(env, webhook=WEBHOOK)
    assert code == 1 and problems(lines)[0].startswith(
        f"Telegram has no webhook registered, not {WEBHOOK}: start the bot with --webhook"
    )


async def test_missing_settings_are_one_problem_and_the_local_checks_still_run(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = await set_up(api, tmp_path)
        del env["STAFF_CHAT_ID"]
        code, lines = await doctor(env)
    assert code == 1 and len(api.calls) == 0
    assert problems(lines) == [
        (
            "STAFF_CHAT_ID is not set: use the staff group's chat id, e.g. -1001234567890 "
            "(in /etc/signpost-bot/env or .env)"
        )
    ]
    assert any(line.startswith("ok: the secret matches the database") for line in lines)


def test_a_python_too_old_is_named() -> None:
    (finding,) = python_findings((3, 10, 12))
    assert not finding.ok and finding.text.startswith("Python 3.10.12 is too old: the bot needs 3.11 or later")


def test_doctor_runs_from_the_command_line_and_exits_non_zero_on_a_problem(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "STAFF_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO), "BOT_HOME": str(tmp_path / "home")},
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "problem: no secret is set for `run`" in result.stdout
    assert "problem: TELEGRAM_BOT_TOKEN is not set" in result.stdout
    assert f"ok: there is no data folder {tmp_path}/home yet" in result.stdout


# -- the staff group: the same lines at start-up ---------------------------------------------------


async def staff_lines(api: FakeBotAPI, staff: int = STAFF) -> list[str]:
    settings = TelegramConfig(token=api.token, staff_chat_id=staff, api_url=api.api_url)
    return [f.text for f in await telegram_findings(settings, None, clock) if not f.ok]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (
            {"forum": False},
            "Topics are off in the staff group, so cases can't have their own topics: turn them on in Edit → Topics.",
        ),
        ({"group_type": "group"}, "The staff group is a basic group: turn Topics on (Edit → Topics)"),
        (
            {"bot_member": {"status": "member"}},
            "The bot is not an admin of the staff group: Edit → Administrators → Add Admin",
        ),
        (
            {"bot_member": {"status": "administrator", "can_manage_topics": False, "can_delete_messages": True}},
            "The bot may not manage topics in the staff group: Edit → Administrators → the bot → turn on Manage Topics.",
        ),
        (
            {"bot_member": {"status": "administrator", "can_manage_topics": True, "can_delete_messages": False}},
            "The bot may not delete messages in the staff group: Edit → Administrators → the bot → turn on Delete Messages.",
        ),
    ],
)
async def test_each_broken_staff_group_is_one_line_with_the_fix(breakage: dict[str, object], expected: str) -> None:
    async with FakeBotAPI() as api:
        for name, value in breakage.items():
            setattr(api, name, value)
        lines = await staff_lines(api)
    assert len(lines) == 1 and lines[0].startswith(expected)


async def test_a_staff_id_that_is_not_a_supergroups_is_reported() -> None:
    async with FakeBotAPI() as api:
        lines = await staff_lines(api, staff=-123456)
    assert lines[0].startswith("STAFF_CHAT_ID is not a supergroup's id (those start with -100)")


async def test_problems_are_logged_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeBotAPI(forum=False) as api, running_bot(api, tmp_path / "bot.sqlite3"):
        pass
    assert any("set-up: Topics are off in the staff group" in r.getMessage() for r in caplog.records)


async def test_id_in_any_group_is_answered_then_the_bot_leaves_unless_it_is_an_admin_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3"):
        api.group_message(-1009999, "/id")
        await api.wait_for_calls("leaveChat")
        (answer,) = api.sent_to(-1009999)
        assert answer["text"].startswith("This group's id is -1009999.")
        api.admin_groups.add(-1008888)  # the real staff group, under a wrong STAFF_CHAT_ID
        api.group_message(-1008888, "hello")
        await api.wait_for(
            lambda: any("is an admin of a group that is not STAFF_CHAT_ID" in r.getMessage() for r in caplog.records)
        )
        assert [c.params["chat_id"] for c in api.calls_to("leaveChat")] == [-1009999]
        api.group_message(STAFF, "/id")
        await api.wait_for_text(STAFF, f"This group's id is {STAFF}.")
