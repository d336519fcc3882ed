"""Staff change the flows from the staff group: download, send back, try in their own chat, publish, roll back."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.conftest import MAIN, WriteFlows
from tests.fakebotapi import FakeBotAPI
from tests.test_telegram_e2e import STAFF, USER, press, running_bot

ADMIN = 1001  # the fake's staff group admin; a private chat's id is its user's id
VOLUNTEER = FakeBotAPI.user(2002, first_name="Volunteer", username="volunteer_account")
BROKEN = MAIN.replace("goto: info.menu}", "goto: info.menux}", 1)
DRAFT = (
    MAIN.replace("say: Hello.", "say: Hello, draft.").replace(
        '      - {label: "Person", do: handoff}\n',
        '      - {label: "Person", do: handoff}\n      - {label: "News", goto: news}\n',
    )
    + "  news:\n    say: Fresh news.\n    next: main.menu\n"
)
BANNER = "[DRAFT: not live yet. Only you see this version.]"


def staff_texts(api: FakeBotAPI) -> list[str]:
    return [m.get("text") or "" for m in api.sent_to(STAFF) if m["method"] == "sendMessage"]


async def user_starts(api: FakeBotAPI, chat_id: int, expected: str) -> str:
    """The user sends /start and gets the welcome containing `expected`; returns that message's text."""
    before = len(api.texts_to(chat_id))
    api.user_sends_text(chat_id, "/start")
    await api.wait_for(lambda: any(expected in t for t in api.texts_to(chat_id)[before:]), what=expected)
    return next(t for t in api.texts_to(chat_id)[before:] if expected in t)


async def staff_says(api: FakeBotAPI, text: str, fragment: str, **kwargs: object) -> str:
    """An admin posts in the main thread and waits for the bot's answer containing `fragment`."""
    before = len(staff_texts(api))
    api.group_message(STAFF, text, **kwargs)  # type: ignore[arg-type]
    await api.wait_for(lambda: any(fragment in t for t in staff_texts(api)[before:]), what=fragment)
    return "\n".join(staff_texts(api)[before:])


async def sends_file(api: FakeBotAPI, name: str, content: str, fragment: str) -> str:
    before = len(staff_texts(api))
    api.group_document(STAFF, name, content.encode())
    await api.wait_for(lambda: any(fragment in t for t in staff_texts(api)[before:]), what=fragment)
    return "\n".join(staff_texts(api)[before:])


async def test_an_admin_drafts_tries_publishes_and_rolls_back_the_flows(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory) as running:
        api.group_message(STAFF, "/flows")
        await api.wait_for_calls("sendDocument", chat_id=STAFF)
        name, content = api.documents_to(STAFF)[-1]
        assert name == "flows.zip"
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert archive.read("main.yaml").decode() == MAIN
        api.group_message(STAFF, "/flows main.yaml")
        await api.wait_for_calls("sendDocument", 2, chat_id=STAFF)
        assert api.documents_to(STAFF)[-1] == ("main.yaml", MAIN.encode())

        problems = await sends_file(api, "main.yaml", BROKEN, "problem(s)")
        assert "The draft has 1 problem(s), so it can't go live." in problems
        assert "main.yaml:7: main.welcome: `goto: info.menux` leads nowhere" in problems
        assert str(tmp_path) not in problems  # named as staff sent it, not by the server's folder

        summary = await sends_file(api, "main.yaml", DRAFT, "could go live")
        assert "Steps added: main.news\nSteps changed: main.welcome" in summary and "/try" in summary
        assert "Hello." in (directory / "main.yaml").read_text()  # nothing is live yet

        await staff_says(api, "/try", "now shows the draft")
        assert (await user_starts(api, ADMIN, "Hello, draft.")).startswith(BANNER)
        await press(running, ADMIN, "News")  # a step only the draft has
        assert (await api.wait_for_text(ADMIN, "Fresh news."))["text"].startswith(BANNER)
        await press(running, ADMIN, "Main menu")  # a button on that new step
        assert (await api.wait_for_text(ADMIN, "Menu."))["text"].startswith(BANNER)
        live = await user_starts(api, USER, "Hello.")
        assert "draft" not in live and BANNER not in live

        await staff_says(api, "/publish Sam", "kept as version 1")
        assert "Hello, draft." in (directory / "main.yaml").read_text()
        assert "DRAFT" not in await user_starts(api, USER, "Hello, draft.")
        assert "DRAFT" not in await user_starts(api, ADMIN, "Hello, draft.")  # every /try ended

        listed = await staff_says(api, "/versions", "Kept versions")
        assert "1 · " in listed and "replaced by Sam · added: main.news; changed: main.welcome" in listed

        await staff_says(api, "/rollback 1", "kept as version 2")
        assert await user_starts(api, USER, "Hello.") and (directory / "main.yaml").read_text() == MAIN
        meta = (directory / ".versions" / "2" / "meta.yaml").read_text()
        assert "rollback to version 1" in meta
        for kept in (directory / ".versions").rglob("*"):
            if kept.is_file():
                text = kept.read_text()
                assert all(mark not in text for mark in ("1001", "Staffer", "Realname", "staff_account"))


async def test_anyone_but_an_admin_is_refused_in_one_line(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        for command in ("/flows", "/try", "/publish", "/rollback 1"):
            answer = await staff_says(api, command, "Only the group's admins", user=VOLUNTEER)
            assert answer == "Only the group's admins can download, change, try or publish the flows."
        before = len(staff_texts(api))
        api.group_document(STAFF, "main.yaml", DRAFT.encode(), user=VOLUNTEER)
        await api.wait_for(lambda: len(staff_texts(api)) > before, what="the refusal")
        assert staff_texts(api)[before:] == ["Only the group's admins can download, change, try or publish the flows."]
        assert not api.calls_to("sendDocument") and not api.calls_to("getFile")
        assert not (tmp_path / "drafts").exists()


async def test_a_file_that_is_not_yaml_or_too_big_is_refused_with_its_reason(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        answer = await sends_file(api, "notes.pdf", "%PDF-1.4", "Not taken")
        assert answer == "Not taken: notes.pdf is not a flows file: send .yaml files (or a .zip of them)."
        answer = await sends_file(api, "main.yaml", "# " + "x" * 600_000, "Not taken")
        assert answer.startswith("Not taken: main.yaml is too big")
        assert not (tmp_path / "drafts").exists()
        await staff_says(api, "/publish", "There is no draft")


async def test_a_flows_folder_the_bot_cant_write_is_said_in_one_line(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    (tmp_path / "drafts").write_text("a file where the drafts folder would go")  # any write below it fails
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        answer = await sends_file(api, "main.yaml", DRAFT, "can't change")
        assert answer.startswith("The bot can't change the flows' files on the server (")
        assert "nothing was changed" in answer and str(tmp_path) not in answer
        assert (directory / "main.yaml").read_text() == MAIN


async def test_discard_drops_the_draft_and_ends_every_try(write_flows: WriteFlows, tmp_path: Path) -> None:
    directory = write_flows()
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=directory):
        await sends_file(api, "main.yaml", DRAFT, "could go live")
        await staff_says(api, "/try", "now shows the draft")
        assert (await user_starts(api, ADMIN, "Hello, draft.")).startswith(BANNER)
        await staff_says(api, "/discard", "The draft was dropped")
        assert await user_starts(api, ADMIN, "Hello.") == "Hello."
        assert not (tmp_path / "drafts" / "flows").exists() and (directory / "main.yaml").read_text() == MAIN
        await staff_says(api, "/try", "There is no draft")
