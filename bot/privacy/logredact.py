"""Masking identifiers in every log record, whatever module logs it.

Installed as the log record factory, so it runs before any handler or filter sees a record: chat ids,
phone numbers, emails, @usernames, the bot token, and the values of name/text fields in logged
objects never reach a log line. Telegram objects and mappings passed as log arguments are replaced by
their type, because their fields (names, message text) can't be told apart from harmless words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# user:password@ (or user@) in any URL, e.g. a self-hosted Bot API behind basic authentication.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_USERNAME = re.compile(r"(?<![\w.])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
# Fields of Telegram objects and API calls that carry names or words people wrote.
_FIELDS = (
    "text|caption|first_name|last_name|username|phone_number|title|name|full_name|question|"
    "vcard|email|address|message|query|data|sender_chat|bio|description"
)
_FIELD_VALUE = re.compile(rf"""(?P<key>['"]?\b(?:{_FIELDS})['"]?\s*[:=]\s*)(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""")
# Five or more digits, allowing the spaces and dashes of phone numbers: chat ids, user ids, phones.
_NUMBER = re.compile(r"[+-]?\d(?:[ -]?\d){4,}")


def mask(text: str) -> str:
    """The text with every identifier pattern replaced by a placeholder."""
    text = redact_url(text)
    text = _TOKEN.sub("<token>", text)
    text = _FIELD_VALUE.sub(lambda m: f"{m.group('key')}<hidden>", text)
    text = _EMAIL.sub("<email>", text)
    text = _USERNAME.sub("@<user>", text)
    return _NUMBER.sub("<number>", text)


def redact_url(text: str) -> str:
    """The text with the user name and password of every URL in it replaced (`https://<credentials>@host`)."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}<credentials>@", text)


def _safe_arg(value: Any) -> Any:
    # Imported here so that logging set-up doesn't pull in telegram for the console chat.
    try:
        from telegram import TelegramObject
    except ImportError:  # pragma: no cover - telegram is a dependency
        TelegramObject = ()  # type: ignore[assignment,misc]
    if isinstance(value, (TelegramObject, Mapping)):
        return f"<{type(value).__name__}>"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (TelegramObject, Mapping)) for v in value):
        return f"<{type(value).__name__} of {len(value)}>"
    return value


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """Rewrite a record in place so its message, exception and stack carry no identifiers."""
    args = record.args
    if args:
        safe: Any = tuple(_safe_arg(a) for a in args) if isinstance(args, tuple) else _safe_arg(args)
        try:
            message = str(record.msg) % safe
        except (TypeError, ValueError, KeyError):
            message = f"{record.msg} {safe}"
    else:
        message = str(record.msg)
    record.msg, record.args = mask(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def install() -> Callable[..., logging.LogRecord]:
    """Make every new log record redacted; returns the previous factory (to restore in tests)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return previous

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            return redact(record)
        except Exception:
            record.msg, record.args, record.exc_info, record.exc_text = (
                "<log record could not be redacted>",
                None,
                None,
                None,
            )
            return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    return previous
