"""The log filter: no chat id, name, username, phone, email, message text or token in any log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC

import pytest
from telegram import Chat, Message, Update, User

from bot.privacy import logredact

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PLANTED = (
    "987654321",
    "Maria",
    "Plantedname",
    "maria_planted",
    "07700 900123",
    "+447700900123",
    "maria@example.org",
    "my secret words",
    TOKEN,
)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged at any level by any logger, through the redacting record factory."""
    previous = logredact.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.setLogRecordFactory(previous)


def planted_message() -> Message:
    user = User(987654321, "Maria", False, last_name="Plantedname", username="maria_planted", language_code="en")
    chat = Chat(987654321, Chat.PRIVATE, first_name="Maria", last_name="Plantedname", username="maria_planted")
    from datetime import datetime

    return Message(5, datetime.now(UTC), chat, from_user=user, text="my secret words 07700 900123")


def assert_clean(output: str) -> None:
    assert output.strip(), "something should have been logged"
    for value in PLANTED:
        assert value not in output, value


def test_records_from_telegram_httpx_and_our_own_loggers_are_masked(captured: io.StringIO) -> None:
    update = Update(1, message=planted_message())
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    logging.getLogger("telegram.Bot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`",
        "sendMessage",
        {"chat_id": 987654321, "text": "my secret words", "first_name": "Maria"},
    )
    logging.getLogger("httpx").info(
        f'HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates "HTTP/1.1 200 OK"'
    )
    logging.getLogger("bot.transports.telegram.app").warning(
        "odd chat 987654321 from @maria_planted, maria@example.org"
    )
    logging.getLogger("bot").error("user said %r to %s", "text: 'my secret words'", "+447700900123")
    assert_clean(captured.getvalue())
    assert "<token>" in captured.getvalue() and "<Update>" in captured.getvalue()


def test_exception_text_and_tracebacks_are_masked(captured: io.StringIO) -> None:
    try:
        # Built at run time so the traceback's source line doesn't itself show the planted values.
        name, username, phone = PLANTED[1], PLANTED[3], PLANTED[4]
        raise ValueError(f"chat {PLANTED[0]} said: first_name='{name}' username=\"{username}\" phone {phone}")
    except ValueError:
        logging.getLogger("telegram.ext.Application").exception("No error handlers are registered")
    output = captured.getvalue()
    assert_clean(output)
    assert "ValueError" in output and "Traceback" in output


def test_an_object_that_breaks_formatting_is_logged_without_leaking(captured: io.StringIO) -> None:
    logging.getLogger("bot").info("%d items for %s", "not a number", "maria@example.org")
    assert_clean(captured.getvalue())


def test_ordinary_lines_stay_readable() -> None:
    assert (
        logredact.mask("purged 3 idle session(s); case tick failed: TimeoutError")
        == "purged 3 idle session(s); case tick failed: TimeoutError"
    )
    assert (
        logredact.mask("update failed: KeyError at step:120 < handle:44")
        == "update failed: KeyError at step:120 < handle:44"
    )


def test_user_names_and_passwords_in_urls_are_masked() -> None:
    line = logredact.mask(
        "POST https://charity:hunter2pass@api.example.org/bot/getMe failed; also http://ops@10.0.0.5:8081/x"
    )
    assert "hunter2pass" not in line and "charity" not in line and "ops@" not in line
    assert "https://<credentials>@api.example.org/bot/getMe" in line


def test_the_bots_log_set_up_keeps_url_and_per_request_loggers_at_warning() -> None:
    from bot.ops.logsetup import configure_logging

    names = ("httpx", "httpcore", "tornado.access")
    before = {name: logging.getLogger(name).level for name in names}
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    try:
        configure_logging()
        # httpx puts the bot token in URLs; tornado would log one line per webhook request
        assert {name: logging.getLogger(name).level for name in names} == dict.fromkeys(names, logging.WARNING)
    finally:
        for name, old in before.items():
            logging.getLogger(name).setLevel(old)
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
