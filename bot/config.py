"""Where things live: flows, catalogs, database and secret, from the environment or defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import BotError
from bot.privacy.logredact import redact_url

_REPO = Path(__file__).resolve().parent.parent


def home_dir(env: Mapping[str, str]) -> Path:
    """`BOT_HOME`, else the systemd service's state folder (`$STATE_DIRECTORY`), else ./data.

    The one folder the other defaults come from, so a service started from another working
    directory still finds its database instead of making a new one.
    """
    if env.get("BOT_HOME"):
        return Path(env["BOT_HOME"])
    if env.get("STATE_DIRECTORY"):
        # systemd lists several state folders separated by colons; the first is this service's own.
        return Path(env["STATE_DIRECTORY"].split(":", 1)[0])
    return Path.cwd() / "data"


def _bundled(env: Mapping[str, str], name: str) -> Path:
    # A copy in the home folder wins (the charity's own edits kept with its data), then the folder in
    # the working directory (a checkout), else the one beside the package.
    for folder in (home_dir(env) / name, Path.cwd() / name):
        if folder.is_dir():
            return folder
    return _REPO / name


def flows_dir(env: Mapping[str, str]) -> Path:
    """`BOT_FLOWS`, else $BOT_HOME/flows if there is one, else ./flows, else the flows bundled with the code."""
    return Path(env["BOT_FLOWS"]) if env.get("BOT_FLOWS") else _bundled(env, "flows")


def locales_dir(env: Mapping[str, str]) -> Path:
    """`BOT_LOCALES`, else $BOT_HOME/locales if there is one, else ./locales, else the bundled catalogs."""
    return Path(env["BOT_LOCALES"]) if env.get("BOT_LOCALES") else _bundled(env, "locales")


def drafts_dir(flows: Path) -> Path:
    """Where staff's draft of the flows waits (bot/publishing): `drafts/` beside the flows folder, not the database."""
    return flows.parent / "drafts"


def db_path(env: Mapping[str, str]) -> Path:
    """`BOT_DB`, else bot.sqlite3 in the home folder (`BOT_HOME`, default ./data)."""
    return Path(env["BOT_DB"]) if env.get("BOT_DB") else home_dir(env) / "bot.sqlite3"


def database_url(env: Mapping[str, str]) -> str | None:
    """`BOT_DATABASE_URL` (postgresql://…) when the data lives in PostgreSQL, else None: SQLite at `db_path`."""
    url = env.get("BOT_DATABASE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"BOT_DATABASE_URL must be a PostgreSQL address like postgresql://bot@db/bot, not "
            f"`{redact_url(url)}` (leave it unset to keep the data in SQLite, at BOT_DB)"
        )
    return url


def store_location(env: Mapping[str, str]) -> Path | str:
    """Where the store is: the PostgreSQL address in `BOT_DATABASE_URL`, else the SQLite file (`db_path`)."""
    return database_url(env) or db_path(env)


def secret_path(env: Mapping[str, str]) -> Path:
    """`BOT_SECRET_FILE`, else secret in the home folder (the console makes it on first run)."""
    return Path(env["BOT_SECRET_FILE"]) if env.get("BOT_SECRET_FILE") else data_secret_path(env)


def data_secret_path(env: Mapping[str, str] | None = None) -> Path:
    """secret in the home folder: the console's easy default, beside the database; `run` wants the secret elsewhere."""
    return (Path.cwd() / "data" if env is None else home_dir(env)) / "secret"


class ConfigError(BotError):
    """A missing or malformed setting; the message names the variable and what is expected."""


_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{10,100}$")
DEFAULT_API_URL = "https://api.telegram.org"


@dataclass(frozen=True)
class TelegramConfig:
    """What `python -m bot run` needs from the environment."""

    token: str = field(repr=False)
    staff_chat_id: int
    api_url: str = field(default=DEFAULT_API_URL, repr=False)  # may carry user:password@

    @property
    def shown_api_url(self) -> str:
        """The Bot API address as it may be printed: any user name and password hidden."""
        return redact_url(self.api_url)

    @property
    def base_url(self) -> str:
        """PTB's `base_url`: the Bot API root followed by `/bot` (PTB appends the token)."""
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's `base_file_url`."""
        return f"{self.api_url}/file/bot"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TelegramConfig:
        """Read and check the settings; raises ConfigError naming the first bad one."""
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: use the token BotFather gave you")
        if not _TOKEN.match(token):
            # Never echo the value: a near-miss token is still a secret.
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters)")
        staff = env.get("STAFF_CHAT_ID", "").strip()
        if not staff:
            raise ConfigError("STAFF_CHAT_ID is not set: use the staff group's chat id, e.g. -1001234567890")
        try:
            staff_chat_id = int(staff)
        except ValueError:
            raise ConfigError(f"STAFF_CHAT_ID must be a whole number like -1001234567890, not `{staff}`") from None
        if staff_chat_id >= 0:
            raise ConfigError("STAFF_CHAT_ID must be a group's id, which is negative (e.g. -1001234567890)")
        if not staff.startswith("-100"):
            # Topics exist only in supergroups, whose ids start with -100; turning Topics on changes the id.
            raise ConfigError(
                "STAFF_CHAT_ID must be a supergroup's id, which starts with -100: turn Topics on in the "
                "staff group, then send /id there to see its id"
            )
        api_url = env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_API_URL
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            shown = redact_url(api_url)
            raise ConfigError(f"TELEGRAM_API_URL must be an http(s) address like {DEFAULT_API_URL}, not `{shown}`")
        api_url = api_url.rstrip("/")
        api_url = api_url.removesuffix("/bot")  # accept PTB-style `…/bot` too
        return cls(token=token, staff_chat_id=staff_chat_id, api_url=api_url)


def webhook_url(value: str) -> str:
    """Check a `--webhook` address: Telegram posts only to https (a local Bot API server may use http)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"--webhook must be a full address like https://bot.example.org/telegram, not `{redact_url(value)}`"
        )
    return value


_SIGNAL_NUMBER = re.compile(r"^\+[1-9]\d{6,14}$")
UNIX_PATH_MAX = 107  # bytes in a UNIX socket path, less the final NUL


@dataclass(frozen=True)
class SignalConfig:
    """The Signal side of `python -m bot run`: signal-cli's socket and the bot's own number."""

    socket: str
    account: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SignalConfig | None:
        """None when `SIGNAL_SOCKET` is unset (no Signal); raises ConfigError naming a bad setting."""
        socket = env.get("SIGNAL_SOCKET", "").strip()
        if not socket:
            return None
        if len(socket.encode()) > UNIX_PATH_MAX:
            raise ConfigError(
                f"SIGNAL_SOCKET is longer than {UNIX_PATH_MAX} bytes; use a shorter path like /run/signal-cli/socket"
            )
        account = env.get("SIGNAL_ACCOUNT", "").strip()
        if not account:
            raise ConfigError(
                "SIGNAL_ACCOUNT is not set: use the bot's Signal number, e.g. +447700900000 (see docs/signal.md)"
            )
        if not _SIGNAL_NUMBER.match(account):
            # Never echo it: it is a phone number.
            raise ConfigError("SIGNAL_ACCOUNT must be the bot's number in international form, like +447700900000")
        return cls(socket=socket, account=account)
