"""Live reload: edits go live without a restart, broken edits never do, and nobody is stranded."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.conversation import Conversations
from bot.engine import Command, Pick, State, Text, step
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.reload import POLL_SECONDS, SETTLE_SECONDS, Reloader
from bot.store import open_store
from bot.transports.telegram.app import telegram_language
from tests.conftest import INFO, REPO, WriteFlows
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, bot_process, running_bot

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOT_ADMIN = FakeBotAPI.user(2002, first_name="Volunteer")


def staff_texts(api: FakeBotAPI) -> list[str]:
    return [m.get("text") or "" for m in api.sent_to(STAFF)]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- the engine: where a user whose node vanished lands -----------------------------------------


def test_a_vanished_node_lands_on_its_flows_start_with_one_note(write_flows: WriteFlows, tmp_path: Path) -> None:
    flows = load_content(write_flows(), tmp_path)
    state = State("info.gone", "en", ("main.menu",))
    for inbound in (Pick("info.gone", "c:0"), Pick("", "stale"), Text("2")):
        outcome = step(flows, state, inbound, NOW)
        assert outcome.state.node == "info.menu" and outcome.state.back == ("main.menu",)
        assert outcome.reply.parts == (flows.messages["menu_changed"],)  # said once, then info.menu's buttons
        assert [b.label for b in outcome.reply.buttons] == ["Clinic", "Leaving"]


def test_a_vanished_flow_lands_on_the_newest_step_back_that_still_exists(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    flows = load_content(write_flows(), tmp_path)
    outcome = step(flows, State("gone.node", "en", ("main.menu", "info.menu", "gone.start")), Pick("", "stale"), NOW)
    assert (outcome.state.node, outcome.state.back) == ("info.menu", ("main.menu",))
    outcome = step(flows, State("gone.node", "en", ("gone.start",)), Command("back"), NOW)
    assert outcome.state.node == "main.menu" and outcome.reply.parts[0] == flows.messages["menu_changed"]


def test_trigger_words_still_work_from_a_vanished_node_without_the_menu_note(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    flows = load_content(write_flows(), tmp_path)
    outcome = step(flows, State("info.gone", "en"), Text("I need a person"), NOW)
    assert outcome.reply.parts[0] == flows.messages["handoff_requested"]
    assert flows.messages["menu_changed"] not in outcome.reply.parts


# -- the reloader on its own --------------------------------------------------------------------


async def test_a_broken_catalog_is_refused_like_a_broken_flow(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    flows = load_content(directory, tmp_path / "locales")
    store = await open_store(":memory:")
    notices: list[str] = []

    async def notify(text: str) -> None:
        notices.append(text)

    conversations = Conversations(flows, store, Keyring(b"k" * 32))
    reloader = Reloader(conversations, directory, tmp_path / "locales", notify, poll_seconds=None)
    broken = tmp_path / "locales" / "ro" / "LC_MESSAGES" / "messages.po"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\xff\xfe not a catalog \x00")
    result = await reloader.reload("test")
    assert not result.ok and conversations.flows is flows
    assert notices[0].startswith("The edited flows have 1 error(s), so they were NOT loaded")
    assert str(broken) in notices[0]
    await store.close()


async def test_new_flows_stay_live_when_what_follows_a_reload_fails(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    conversations = Conversations(load_content(directory, tmp_path), await open_store(":memory:"), Keyring(b"k" * 32))
    notices: list[str] = []

    async def notify(text: str) -> None:
        notices.append(text)

    async def menu_update_fails(flows: object) -> None:
        raise RuntimeError("the Bot API is down")

    reloader = Reloader(conversations, directory, tmp_path, notify, poll_seconds=None, on_loaded=menu_update_fails)
    edit(directory / "main.yaml", "say: Hello.", "say: Hello, edited.")
    result = await reloader.reload("test")
    assert result.ok and conversations.flows is result.flows
    assert notices == ["The edited flows are live: 3 flows, 5 steps."]
    await conversations.store.close()


async def test_a_long_error_list_is_cut_to_fit_one_message(write_flows: WriteFlows, tmp_path: Path) -> None:
    bad = "".join(f'      - {{label: "L{i}", goto: nowhere{i}}}\n' for i in range(40))
    directory = write_flows()
    flows = load_content(directory, tmp_path)
    store = await open_store(":memory:")
    conversations = Conversations(flows, store, Keyring(b"k" * 32))
    reloader = Reloader(conversations, directory, tmp_path, poll_seconds=None)
    edit(directory / "info.yaml", "    choices:\n", "    choices:\n" + bad)
    result = await reloader.reload("test")
    notice = reloader.notice(result)
    assert len(result.errors) == 40 and len(notice) < 4096
    # How many fit depends on the length of the temporary folder's path, so count what was shown.
    shown = sum(1 for line in notice.splitlines() if "nowhere" in line)
    assert 0 < shown < 40
    assert notice.splitlines()[-1] == f"… and {40 - shown} more. Run python -m bot check to see them all."
    await store.close()


# -- end to end through the fake Bot API --------------------------------------------------------


async def test_a_broken_edit_keeps_the_old_flows_and_tells_staff(
    write_flows: WriteFlows, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = write_flows()
    async with (
        FakeBotAPI() as api,
        running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory, reload_poll=POLL_SECONDS),
    ):
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "Hello.")
        edit(directory / "main.yaml", "say: Hello.", "say: Hello, edited.")
        edit(directory / "info.yaml", "goto: clinic}", "goto: clinik}")
        notice = await api.wait_for_text(STAFF, "NOT loaded", timeout=5)
        assert f"{directory}/info.yaml:7: info.menu: `goto: clinik` leads nowhere" in notice["text"]
        assert "did you mean `clinic`?" in notice["text"]
        api.user_sends_text(USER, "/start")
        await api.wait_for(lambda: api.texts_to(USER).count("Hello.") == 2, what="the old welcome again")
        api.user_sends_text(USER, "Info")
        await api.wait_for_text(USER, "Pick one.")
        assert not any("Hello, edited." in t for t in api.texts_to(USER))
    refused = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert refused == ["reload refused (files changed): 1 error(s); still running the previous flows"]


async def test_a_valid_edit_is_live_within_two_seconds_without_a_restart(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    directory = write_flows()
    async with (
        FakeBotAPI() as api,
        running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory, reload_poll=POLL_SECONDS),
    ):
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "Hello.")
        edit(directory / "main.yaml", "say: Hello.", "say: Hello, edited.")
        saved = time.monotonic()
        await api.wait_for_text(STAFF, "The edited flows are live: 3 flows, 5 steps.", timeout=2.0)
        assert time.monotonic() - saved < 2.0
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "Hello, edited.")


async def test_an_edited_command_description_reaches_the_command_menu_after_a_reload(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    directory = write_flows()
    languages = load_content(directory, REPO / "locales").settings.languages
    menus = 1 + len({telegram_language(code) for code in languages})  # the default menu and each language's
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        edit(
            directory / "messages.yaml", 'command_help: "How to use this chat"', 'command_help: "What this chat can do"'
        )
        api.group_message(STAFF, "/reload")
        await api.wait_for_text(STAFF, "The edited flows are live")
        calls = await api.wait_for_calls("setMyCommands", count=2 * menus)
        again = calls[menus:]
        assert {c.params.get("language_code") for c in again} == {c.params.get("language_code") for c in calls[:menus]}
        (default,) = [c for c in again if c.params.get("language_code") is None]
        assert {"command": "help", "description": "What this chat can do"} in default.params["commands"]


async def test_a_user_on_a_removed_node_recovers_on_the_nearest_menu(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory) as bot:
        api.user_sends_text(USER, "/start")
        api.user_sends_text(USER, "Info")
        api.user_sends_text(USER, "Clinic")
        await api.wait_for(
            lambda: any("Main menu" in dict(bot.buttons(m)) for m in api.sent_to(USER)), what="info.clinic's buttons"
        )
        _, old_buttons = bot.last_keyboard(USER)
        removed = INFO.replace('      - {label: "Clinic", goto: clinic}\n', "")
        (directory / "info.yaml").write_text(removed[: removed.index("  clinic:")], encoding="utf-8")
        api.group_message(STAFF, "/reload")
        await api.wait_for_text(STAFF, "The edited flows are live: 3 flows, 4 steps.")
        api.user_presses(USER, dict(old_buttons)["Main menu"], message_id=1)
        changed = await api.wait_for_text(USER, "That menu has changed")
        assert [label for label, _ in bot.buttons(changed)] == ["Leaving"]  # info.menu, as it is now
        api.user_sends_text(USER, "Leaving")
        await api.wait_for_text(USER, "Whatever you decide, we support you.")
        assert not any("went wrong" in t for t in api.texts_to(USER))


async def test_reload_from_a_non_admin_is_refused_silently(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        edit(directory / "main.yaml", "say: Hello.", "say: Hello, edited.")
        api.group_message(STAFF, "/reload", user=NOT_ADMIN)
        await api.wait_for_calls("getChatAdministrators")
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "Hello.")
        assert staff_texts(api) == [] and not any("edited" in t for t in api.texts_to(USER))
        api.group_message(STAFF, "/reload@signpost_test_bot")  # an admin
        await api.wait_for_text(STAFF, "The edited flows are live")
        api.user_sends_text(USER, "/start")
        await api.wait_for_text(USER, "Hello, edited.")


async def test_sighup_reloads_python_m_bot_run(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api:
        async with bot_process(api, tmp_path, directory, "--no-watch", locales=tmp_path / "no-locales") as bot:
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "Hello.", timeout=30)
            polls, edited = len(api.polls), time.time()
            edit(directory / "main.yaml", "say: Hello.", "say: Hello after SIGHUP.")
            # Without polling, nothing happens until the signal. The marker: a second long poll begun after
            # the edit, so the first ran its full time with nothing to fetch, longer than a watcher needs.
            await api.wait_for(
                lambda: len(api.polls) > polls + 1, timeout=10, what="a long poll run out after the edit"
            )
            assert api.polls[polls + 1].time - edited > POLL_SECONDS + SETTLE_SECONDS
            assert staff_texts(api) == []
            bot.process.send_signal(signal.SIGHUP)
            await api.wait_for_text(STAFF, "The edited flows are live", timeout=10)
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "Hello after SIGHUP.", timeout=10)
        assert bot.process.returncode == 0, bot.log
        assert "flows reloaded (signal): 3 flows, 5 nodes" in bot.log
