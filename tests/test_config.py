"""Settings from the environment: each missing or malformed one is named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    ConfigError,
    TelegramConfig,
    db_path,
    flows_dir,
    home_dir,
    locales_dir,
    secret_path,
    webhook_url,
)
from tests.conftest import REPO

GOOD = {"TELEGRAM_BOT_TOKEN": "123456:ABCdef_ghi-JKLmnop", "STAFF_CHAT_ID": "-1001234567890"}


def test_good_settings_give_ptb_base_urls() -> None:
    config = TelegramConfig.from_env(GOOD)
    assert config.staff_chat_id == -1001234567890
    assert config.base_url == "https://api.telegram.org/bot"
    assert config.base_file_url == "https://api.telegram.org/file/bot"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"])
def test_self_hosted_bot_api_url_is_accepted_with_or_without_bot_suffix(url: str) -> None:
    config = TelegramConfig.from_env({**GOOD, "TELEGRAM_API_URL": url})
    assert config.base_url == "http://127.0.0.1:8081/bot"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN does not look like a bot token"),
        ({"STAFF_CHAT_ID": ""}, "STAFF_CHAT_ID is not set"),
        ({"STAFF_CHAT_ID": "staff"}, "STAFF_CHAT_ID must be a whole number"),
        ({"STAFF_CHAT_ID": "12345"}, "STAFF_CHAT_ID must be a group's id, which is negative"),
        ({"STAFF_CHAT_ID": "-4001234567"}, "STAFF_CHAT_ID must be a supergroup's id, which starts with -100"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL must be an http(s) address"),
    ],
)
def test_bad_setting_is_named(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TelegramConfig.from_env({**GOOD, **change})


def test_a_malformed_token_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as raised:
        TelegramConfig.from_env({**GOOD, "TELEGRAM_BOT_TOKEN": "123:sec ret"})
    assert "sec ret" not in str(raised.value)
    assert "ABCdef" not in repr(TelegramConfig.from_env(GOOD))


def test_webhook_url_must_be_a_full_address() -> None:
    assert webhook_url("https://bot.example.org/telegram") == "https://bot.example.org/telegram"
    with pytest.raises(ConfigError, match="--webhook"):
        webhook_url("bot.example.org")


def test_credentials_in_the_api_url_are_never_shown() -> None:
    with pytest.raises(ConfigError) as raised:
        TelegramConfig.from_env({**GOOD, "TELEGRAM_API_URL": "ftp://charity:hunter2pass@api.example.org"})
    assert "hunter2pass" not in str(raised.value) and "charity" not in str(raised.value)
    assert "ftp://<credentials>@api.example.org" in str(raised.value)
    config = TelegramConfig.from_env({**GOOD, "TELEGRAM_API_URL": "https://charity:hunter2pass@api.example.org/"})
    assert config.base_url == "https://charity:hunter2pass@api.example.org/bot"  # still used to connect
    assert config.shown_api_url == "https://<credentials>@api.example.org"
    assert "hunter2pass" not in repr(config)


def test_bot_home_holds_the_database_and_the_consoles_secret(tmp_path: Path) -> None:
    env = {"BOT_HOME": str(tmp_path / "home")}
    assert db_path(env) == tmp_path / "home" / "bot.sqlite3"
    assert secret_path(env) == tmp_path / "home" / "secret"


def test_the_services_state_folder_is_the_home_when_bot_home_is_unset(tmp_path: Path) -> None:
    # systemd sets STATE_DIRECTORY for a service with StateDirectory=; several are colon-separated.
    env = {"STATE_DIRECTORY": f"{tmp_path / 'state'}:{tmp_path / 'other'}"}
    assert home_dir(env) == tmp_path / "state"
    assert db_path(env) == tmp_path / "state" / "bot.sqlite3"
    assert home_dir({**env, "BOT_HOME": str(tmp_path / "home")}) == tmp_path / "home"


def test_without_a_home_the_data_folder_of_the_working_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert db_path({}) == tmp_path / "data" / "bot.sqlite3"
    assert secret_path({}) == tmp_path / "data" / "secret"


def test_the_old_variables_still_override_the_home(tmp_path: Path) -> None:
    env = {
        "BOT_HOME": str(tmp_path / "home"),
        "BOT_DB": str(tmp_path / "db.sqlite3"),
        "BOT_SECRET_FILE": str(tmp_path / "s"),
        "BOT_FLOWS": str(tmp_path / "f"),
        "BOT_LOCALES": str(tmp_path / "l"),
    }
    assert (db_path(env), secret_path(env)) == (tmp_path / "db.sqlite3", tmp_path / "s")
    assert (flows_dir(env), locales_dir(env)) == (tmp_path / "f", tmp_path / "l")


def test_flows_kept_in_the_home_win_over_the_bundled_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"BOT_HOME": str(tmp_path / "home")}
    assert flows_dir(env) == REPO / "flows"  # nothing in the home or here: the code's own
    (tmp_path / "home" / "flows").mkdir(parents=True)
    assert flows_dir(env) == tmp_path / "home" / "flows"
    assert locales_dir(env) == REPO / "locales"
