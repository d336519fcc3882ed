"""End to end: the real python-telegram-bot Application, over HTTP, against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram.ext import AIORateLimiter

from bot.conversation import Conversations, utc_now
from bot.flows.content import load_content
from bot.privacy.keys import Keyring
from bot.reload import Reloader
from bot.store import open_store
from bot.transports.telegram.app import TelegramTransport, Webhook, build_application, serve
from tests.conftest import FLOWS, REPO, shipped
from tests.fakebotapi import FakeBotAPI

STAFF = -1001234567890
USER = 987654321


@dataclass
class Running:
    api: FakeBotAPI
    transport: TelegramTransport

    def buttons(self, message: dict[str, Any]) -> list[tuple[str, str]]:
        """(label, callback_data or url) of a sent message's inline keyboard."""
        markup = message.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data") or b.get("url"))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def last_keyboard(self, chat_id: int) -> tuple[int, list[tuple[str, str]]]:
        """The message id (as the fake assigned it) and buttons of the latest message with a keyboard."""
        sent = [
            (c, m)
            for c, m in zip(self.api.calls_to("sendMessage", chat_id), self.api.sent_to(chat_id), strict=False)
            if m.get("reply_markup")
        ]
        assert sent, self.api.describe()
        _call, message = sent[-1]
        return 0, self.buttons(message)


@asynccontextmanager
async def running_bot(
    api: FakeBotAPI,
    db: Path,
    rate_limiter: AIORateLimiter | None = None,
    flows_dir: Path = FLOWS,
    clock: Callable[[], datetime] = utc_now,
    webhook: Webhook | None = None,
    secret: bytes = b"k" * 32,
    reload_poll: float | None = None,
) -> AsyncIterator[Running]:
    # The shipped set is parsed once per run (it is immutable); a test's own folder is loaded as the bot would.
    flows = shipped() if flows_dir == FLOWS else load_content(flows_dir, REPO / "locales")
    store = await open_store(db)
    conversations = Conversations(flows, store, Keyring(secret), clock=clock)
    # /reload always works; polling the folder for edits only when a test asks for it.
    reloader = Reloader(conversations, flows_dir, REPO / "locales", poll_seconds=reload_poll)
    transport = TelegramTransport(conversations, STAFF, reloader=reloader)
    application = build_application(
        transport, api.token, api.base_url, api.base_file_url, rate_limiter or AIORateLimiter(max_retries=8)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(application, transport, stop, webhook, poll_timeout=1))
    try:
        await api.wait_for_calls("setMyCommands", timeout=10)
        yield Running(api, transport)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await store.close()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Running]:
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3") as running:
        yield running


async def press(bot: Running, chat_id: int, label: str) -> None:
    """Tap the button called `label` on the latest keyboard the user was sent."""
    _, buttons = bot.last_keyboard(chat_id)
    data = dict(buttons)[label]
    bot.api.user_presses(chat_id, data, message_id=1)


async def test_start_shows_the_welcome_with_menu_buttons(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/start")
    message = await bot.api.wait_for_text(USER, "Hi, I can help you find health services")
    await bot.api.wait_for_text(USER, "What can I help with?")
    labels = [label for label, _ in bot.last_keyboard(USER)[1]]
    assert labels == [
        "Testing and sexual health",
        "Advice and support",
        "Talk to a person",
        "Urgent help now",
        "Your privacy",
        "Language",
    ]
    assert message["parse_mode"] == "HTML"


async def test_walk_every_top_level_menu_by_buttons(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/start")
    await bot.api.wait_for_text(USER, "What can I help with?")
    await press(bot, USER, "Testing and sexual health")
    await bot.api.wait_for_text(USER, "What would you like to know?")
    await press(bot, USER, "I might need PEP (a risk in the last 72 hours)")
    # PEP is urgent: no nation question before it, so its cards say where each works.
    card = await bot.api.wait_for_text(USER, "<b>NHS 111 · England</b>")
    assert ("🌐 NHS 111 · England", "https://111.nhs.uk") in bot.buttons(card)
    assert ("🌐 NHS 111 Wales · Wales", "https://111.wales.nhs.uk") in bot.buttons(card)
    await press(bot, USER, "Back")
    await bot.api.wait_for(lambda: bot.api.texts_to(USER).count("What would you like to know?") == 2)
    await press(bot, USER, "Back")
    await bot.api.wait_for(lambda: bot.api.texts_to(USER).count("What can I help with?") == 2)
    await press(bot, USER, "Advice and support")
    await bot.api.wait_for_text(USER, "What would you like advice about?")
    await press(bot, USER, "Staying safe at work")
    await bot.api.wait_for_text(USER, "National Ugly Mugs")
    assert len(bot.api.calls_to("answerCallbackQuery")) == 6


async def test_walk_by_typed_text_and_numbers(bot: Running) -> None:
    bot.api.user_sends_text(USER, "hello")
    await bot.api.wait_for_text(USER, "What can I help with?")
    bot.api.user_sends_text(USER, "advice and support")
    await bot.api.wait_for_text(USER, "What would you like advice about?")
    bot.api.user_sends_text(USER, "2")
    await bot.api.wait_for_text(USER, "Which part of the UK are you in?")
    bot.api.user_sends_text(USER, "Skip")
    await bot.api.wait_for_text(USER, "It is not your fault")
    bot.api.user_sends_text(USER, "I think I need PEP")
    await bot.api.wait_for_text(USER, "PEP is medicine that can stop HIV")


async def test_user_text_with_html_is_escaped_and_harmless(bot: Running) -> None:
    bot.api.user_sends_text(USER, "<b>bold</b> & more")
    await bot.api.wait_for_text(USER, "What can I help with?")
    bot.api.user_sends_text(USER, "<b>bold</b> & more")
    message = await bot.api.wait_for_text(USER, "didn't catch that")
    assert "<b>" not in message["text"]


async def test_every_kind_of_non_text_message_gets_a_short_answer(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/start")
    await bot.api.wait_for_text(USER, "What can I help with?")
    for kind in ("photo", "voice", "video", "sticker", "document"):
        bot.api.user_sends(USER, kind)
    await bot.api.wait_for(lambda: sum("I can only read text" in t for t in bot.api.texts_to(USER)) == 5)
    for kind in ("location", "contact"):
        bot.api.user_sends(USER, kind)
    await bot.api.wait_for(lambda: sum("Please don't share your location" in t for t in bot.api.texts_to(USER)) == 2)


async def test_edited_message_does_not_rerun_a_step(bot: Running) -> None:
    message_id = bot.api.user_sends_text(USER, "/start")
    await bot.api.wait_for_text(USER, "What can I help with?")
    before = len(bot.api.calls_to("sendMessage"))
    bot.api.user_edits(USER, message_id, "advice and support")
    bot.api.user_sends_text(USER, "/help")
    await bot.api.wait_for_text(USER, "Tap a button, or type its number")
    assert not any("advice about" in t for t in bot.api.texts_to(USER))
    assert len(bot.api.calls_to("sendMessage")) == before + 1


async def test_forged_callback_gets_a_friendly_menu_changed(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/start")
    await bot.api.wait_for_text(USER, "What can I help with?")
    bot.api.user_presses(USER, "v1:0000000000:c:0", message_id=1)
    bot.api.user_presses(USER, "'; DROP TABLE sessions; --", message_id=1)
    await bot.api.wait_for(lambda: sum("That menu has changed" in t for t in bot.api.texts_to(USER)) == 2)


async def test_language_from_telegram_and_the_language_menu(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/language", language_code="xx")
    message = await bot.api.wait_for_text(USER, "Which language would you like?")
    assert [label for label, _ in bot.buttons(message)] == [
        "English",
        "Română",
        "Português (Brasil)",
        "Español",
        "Polski",
        "Български",
        "Magyar",
        "ไทย",
        "中文 (简体)",
    ]
    await press(bot, USER, "Română")
    await bot.api.wait_for_text(USER, "Bine, de acum îți scriu în română.")
    bot.api.user_sends_text(USER, "/menu", language_code="xx")  # the choice sticks, whatever Telegram says
    await bot.api.wait_for(lambda: bot.api.texts_to(USER)[-1] != "Bine, de acum îți scriu în română.")
    flows = bot.transport.conversations.flows
    assert bot.api.texts_to(USER)[-1] == flows.texts.get("ro", flows.nodes["main.menu"].say[0])


@pytest.mark.parametrize(
    ("telegram_code", "locale"),
    [("ro", "ro"), ("pt-br", "pt_BR"), ("es-MX", "es"), ("zh-hans", "zh_Hans"), ("th", "th"), ("de", "en")],
)
async def test_first_contact_speaks_the_users_telegram_language(bot: Running, telegram_code: str, locale: str) -> None:
    flows = bot.transport.conversations.flows
    bot.api.user_sends_text(USER, "/start", language_code=telegram_code)
    await bot.api.wait_for_text(USER, flows.texts.get(locale, flows.nodes["main.menu"].say[0]))


async def test_commands_are_registered_in_each_language(bot: Running) -> None:
    calls = await bot.api.wait_for_calls("setMyCommands", count=10)
    assert {c.params.get("language_code") for c in calls} == {
        None,
        "en",
        "ro",
        "pt",
        "es",
        "pl",
        "bg",
        "hu",
        "th",
        "zh",
    }
    commands = [c["command"] for c in calls[0].params["commands"]]
    assert commands == ["start", "menu", "back", "language", "human", "help", "forget", "clear"]
    (romanian,) = [c for c in calls if c.params.get("language_code") == "ro"]
    assert romanian.params["commands"][0]["description"] != calls[0].params["commands"][0]["description"]


async def test_long_node_is_split_into_valid_messages(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    for path in FLOWS.glob("*.yaml"):
        (flows / path.name).write_text(path.read_text())
    long_text = " ".join(f"word{i}" for i in range(3000))
    (flows / "testing.yaml").write_text(
        (FLOWS / "testing.yaml").read_text().replace('say: "What would you like to know?"', f'say: "{long_text}"')
    )
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=flows):
        api.user_sends_text(USER, "/start")
        api.user_sends_text(USER, "1")
        await api.wait_for(lambda: any("word2999" in t for t in api.texts_to(USER)), timeout=10)
        pieces = [t for t in api.texts_to(USER) if "word" in t]
        assert len(pieces) >= 2 and all(len(p) <= 4096 for p in pieces)
        assert " ".join(pieces).split() == long_text.split()


async def test_link_previews_are_switched_off_where_a_link_could_show_one(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    for path in FLOWS.glob("*.yaml"):
        (flows / path.name).write_text(path.read_text())
    (flows / "testing.yaml").write_text(
        (FLOWS / "testing.yaml")
        .read_text()
        .replace('say: "What would you like to know?"', 'say: "Read more at nhs.uk/sexual-health."')
    )
    async with FakeBotAPI() as api, running_bot(api, tmp_path / "bot.sqlite3", flows_dir=flows):
        api.user_sends_text(USER, "/start")
        api.user_sends_text(USER, "1")
        await api.wait_for_text(USER, "nhs.uk/sexual-health", timeout=10)
        sends = api.calls_to("sendMessage", USER)
        (linked,) = [c for c in sends if "nhs.uk" in c.params["text"]]
        assert linked.params["link_preview_options"] == {"is_disabled": True}
        assert all("link_preview_options" not in c.params for c in sends if c is not linked)


async def test_429_storm_every_message_arrives_exactly_once(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(api, tmp_path / "bot.sqlite3"):
            api.rate_limit("sendMessage", every_nth=3, retry_after=1)
            for i in range(4):
                api.user_sends_text(USER + i, "/help")
            await api.wait_for(
                lambda: all(sum("Tap a button" in t for t in api.texts_to(USER + i)) == 1 for i in range(4)), timeout=20
            )
            assert api.failed_calls, "the storm should have refused some calls"
        # A stopped bot has finished every update it took and every retry: nothing more can arrive now.
        assert all(sum("Tap a button" in t for t in api.texts_to(USER + i)) == 1 for i in range(4))


async def test_a_5xx_gets_logged_and_the_bot_keeps_running(bot: Running, caplog: pytest.LogCaptureFixture) -> None:
    bot.api.fail_next("sendMessage", status=500)
    bot.api.user_sends_text(USER, "/help")
    await bot.api.wait_for_text(USER, "Sorry, something went wrong on our side")
    bot.api.user_sends_text(USER, "/help")
    await bot.api.wait_for_text(USER, "Tap a button, or type its number")
    assert any("update failed" in r.getMessage() for r in caplog.records)
    assert not any(str(USER) in r.getMessage() for r in caplog.records)


async def test_the_bot_leaves_groups_other_than_the_staff_group(bot: Running) -> None:
    bot.api.bot_added_to_group(-4444)
    await bot.api.wait_for_calls("leaveChat", chat_id=-4444)
    bot.api.group_message(-5555, "hello bot")
    await bot.api.wait_for_calls("leaveChat", chat_id=-5555)
    assert bot.api.calls_to("leaveChat", STAFF) == []


async def test_restart_continues_from_the_same_node(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db):
            api.user_sends_text(USER, "/start")
            api.user_sends_text(USER, "advice and support")
            await api.wait_for_text(USER, "What would you like advice about?")
        async with running_bot(api, db):
            api.user_sends_text(USER, "1")
            await api.wait_for_text(USER, "Some things that help")


async def test_clear_deletes_the_chats_messages_in_batches(bot: Running) -> None:
    bot.api.user_sends_text(USER, "/start")
    await bot.api.wait_for_text(USER, "What can I help with?")
    bot.api.user_sends_text(USER, "/clear")
    await bot.api.wait_for_text(USER, "Messages deleted from this chat: 4.")
    (call,) = bot.api.calls_to("deleteMessages", USER)
    # /start (1), welcome (2, 3), /clear (4): every message id so far, the user's and the bot's.
    assert call.params["message_ids"] == [1, 2, 3, 4]


async def test_clear_after_a_restart_says_honestly_that_it_deleted_only_the_clear_itself(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotAPI() as api:
        async with running_bot(api, db):
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?")
        async with running_bot(api, db):  # the list of recent message ids is kept in memory only
            api.user_sends_text(USER, "/clear")
            await api.wait_for_text(USER, "Messages deleted from this chat: 1. I can't delete older ones")
        (call,) = api.calls_to("deleteMessages")
        assert call.params["message_ids"] == [4]  # only the /clear itself, not the welcome from before


@dataclass
class BotProcess:
    """`python -m bot run` as a subprocess; `log` is its stderr once it has stopped."""

    process: asyncio.subprocess.Process
    log: str = ""


@asynccontextmanager
async def bot_process(
    api: FakeBotAPI, tmp_path: Path, flows: Path = FLOWS, *args: str, locales: Path | None = None
) -> AsyncIterator[BotProcess]:
    """Run the bot as an operator would, against the fake server, and stop it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        STAFF_CHAT_ID=str(STAFF),
        TELEGRAM_API_URL=api.api_url,
        BOT_SECRET_FILE=str(tmp_path / "secret"),
        BOT_DB=str(tmp_path / "bot.sqlite3"),
        BOT_FLOWS=str(flows),
        BOT_LOCALES=str(locales or REPO / "locales"),
        # Run this checkout's code, not whichever copy of the package the venv has installed.
        PYTHONPATH=str(REPO),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *args,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = BotProcess(process)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        running.log = stderr.decode()


async def test_python_m_bot_run_answers_start_through_a_self_hosted_api_url(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        async with bot_process(api, tmp_path) as bot:
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?", timeout=30)
        assert bot.process.returncode == 0, bot.log
        assert "stopped cleanly" in bot.log
        assert api.token not in bot.log and str(USER) not in bot.log


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_takes_updates_only_with_the_secret_token(tmp_path: Path) -> None:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/telegram", "127.0.0.1", port, "s3cret-token")
    async with FakeBotAPI() as api:
        async with running_bot(api, tmp_path / "bot.sqlite3", webhook=hook):
            (registered,) = await api.wait_for_calls("setWebhook")
            assert registered.params["url"] == hook.url and registered.params["secret_token"] == "s3cret-token"
            api.user_sends_text(USER, "/start")
            await api.wait_for_text(USER, "What can I help with?", timeout=10)
            assert 200 in api.webhook_statuses  # it came by the webhook, not by polling

            forged = {
                "update_id": 999,
                "message": {
                    "message_id": 50,
                    "date": 0,
                    "chat": {"id": 555, "type": "private"},
                    "from": api.user(555),
                    "text": "/start",
                },
            }
            async with aiohttp.ClientSession() as session:
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with session.post(hook.url, json=forged, headers=headers) as response:
                        assert response.status == 403
        # A stopped bot has handled every update its webhook took: had it taken a forged one, 555 has a reply.
        assert api.sent_to(555) == []
