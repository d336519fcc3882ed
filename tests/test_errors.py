"""Operator errors are one family, so the command line prints any of them as one line."""

from __future__ import annotations

import pytest

from bot.cli import main as cli
from bot.cli.common import EXIT_USAGE, CliError
from bot.cli.tools import ToolError
from bot.config import ConfigError
from bot.errors import BotError
from bot.flows import FlowError
from bot.flows.convtest import ScriptError
from bot.i18n.catalog import CatalogError
from bot.i18n.cycle import I18nError
from bot.ops.backup import BackupError
from bot.privacy.keys import SecretError
from bot.store import StoreError


def test_every_operator_error_is_a_bot_error() -> None:
    for kind in (
        CliError,
        ToolError,
        ConfigError,
        ScriptError,
        FlowError,
        CatalogError,
        I18nError,
        BackupError,
        SecretError,
        StoreError,
    ):
        assert issubclass(kind, BotError), kind


def test_the_command_line_prints_an_operator_error_as_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*_: object) -> int:
        raise StoreError("cannot open the database data/bot.sqlite3: the disk is full")

    monkeypatch.setattr(cli, "cmd_check", refuse)
    assert cli.main(["check"], env={}) == EXIT_USAGE
    assert capsys.readouterr().err == "error: cannot open the database data/bot.sqlite3: the disk is full\n"
