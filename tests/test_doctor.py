"""The staff-group check, at start-up and as `python -m bot doctor`: good and each broken set-up."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.config import TelegramConfig
from bot.ops.doctor import _doctor
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, running_bot


async def doctor(api: FakeBotAPI, staff: int = STAFF) -> tuple[int, list[str]]:
    settings = TelegramConfig(token=api.token, staff_chat_id=staff, api_url=api.api_url)
    out = io.StringIO()
    code = await _doctor(settings, out)
    return code, out.getvalue().splitlines()


async def test_a_good_set_up_has_no_problems() -> None:
    async with FakeBotAPI() as api:
        code, lines = await doctor(api)
    assert code == 0 and lines[0].startswith("The staff group is ready")


@pytest.mark.parametrize(("breakage", "expected"), [
    ({"forum": False}, "Topics are off in the staff group, so cases can't have their own topics: turn them on in Edit → Topics."),
    ({"group_type": "group"}, "The staff group is a basic group: turn Topics on (Edit → Topics)"),
    ({"bot_member": {"status": "member"}}, "The bot is not an admin of the staff group: Edit → Administrators → Add Admin"),
    ({"bot_member": {"status": "administrator", "can_manage_topics": False, "can_delete_messages": True}},
     "The bot may not manage topics in the staff group: Edit → Administrators → the bot → turn on Manage Topics."),
    ({"bot_member": {"status": "administrator", "can_manage_topics": True, "can_delete_messages": False}},
     "The bot may not delete messages in the staff group: Edit → Administrators → the bot → turn on Delete Messages."),
])
async def test_each_broken_set_up_is_one_line_with_the_fix(breakage: dict[str, object], expected: str) -> None:
    async with FakeBotAPI() as api:
        for name, value in breakage.items():
            setattr(api, name, value)
        code, lines = await doctor(api)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("problem: " + expected)


async def test_a_staff_id_that_is_not_a_supergroups_is_reported() -> None:
    async with FakeBotAPI() as api:
        code, lines = await doctor(api, staff=-123456)
    assert code == 1 and lines[0].startswith("problem: STAFF_CHAT_ID is not a supergroup's id (those start with -100)")


async def test_problems_are_logged_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with FakeBotAPI(forum=False) as api, running_bot(api, tmp_path / "bot.sqlite3"):
        pass
    assert any("set-up: Topics are off in the staff group" in r.getMessage() for r in caplog.records)


async def test_id_in_any_group_is_answered_then_the_bot_leaves_unless_it_is_an_admin_there(tmp_path: Path,
                                                                                          caplog: pytest.LogCaptureFixture) -> None:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3"):
        api.group_message(-1009999, "/id")
        await api.wait_for_calls("leaveChat")
        (answer,) = api.sent_to(-1009999)
        assert answer["text"].startswith("This group's id is -1009999.")
        api.admin_groups.add(-1008888)  # the real staff group, under a wrong STAFF_CHAT_ID
        api.group_message(-1008888, "hello")
        await api.wait_for(lambda: any("is an admin of a group that is not STAFF_CHAT_ID" in r.getMessage()
                                       for r in caplog.records))
        assert [c.params["chat_id"] for c in api.calls_to("leaveChat")] == [-1009999]
        api.group_message(STAFF, "/id")
        await api.wait_for_text(STAFF, f"This group's id is {STAFF}.")
