"""`i18n update` changes only what changed: nothing on an unchanged tree, one entry per catalog for one edit."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.i18n.catalog import read_catalog
from tests.conftest import FLOWS, REPO

ADVICE_MENU = "What would you like advice about?"


def update(flows: Path, locales: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["i18n", "update", "--flows", str(flows), "--locales", str(locales)], env={})
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()


def files(locales: Path) -> dict[str, bytes]:
    return {str(path.relative_to(locales)): path.read_bytes() for path in sorted(locales.rglob("*.po*"))}


@pytest.fixture
def copy(tmp_path: Path) -> tuple[Path, Path]:
    """The repository's own flows and catalogs, copied."""
    shutil.copytree(FLOWS, tmp_path / "flows")
    shutil.copytree(REPO / "locales", tmp_path / "locales")
    return tmp_path / "flows", tmp_path / "locales"


def test_update_on_the_unchanged_repository_changes_no_byte(
    copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = copy
    shipped = files(locales)
    update(flows, locales, capsys)
    assert files(locales) == shipped
    update(flows, locales, capsys)
    assert files(locales) == shipped


def test_no_catalog_names_a_tool_version(copy: tuple[Path, Path]) -> None:
    for name, data in files(copy[1]).items():
        assert b"Generated-By" not in data and b"Babel" not in data, name


def test_a_one_line_english_edit_changes_one_entry_per_catalog(
    copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = copy
    before = files(locales)
    advice = flows / "advice.yaml"
    # The text changes, and a comment above it shifts every line of the file: only the text counts.
    edited = advice.read_text(encoding="utf-8").replace(ADVICE_MENU, "What would you like some advice about?")
    advice.write_text("# a note for staff\n" + edited, encoding="utf-8")
    update(flows, locales, capsys)
    after = files(locales)
    assert after.keys() == before.keys() and len(before) == 9
    for name in before:
        old, new = before[name].decode().splitlines(), after[name].decode().splitlines()
        hunks = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
        assert len(hunks) == 1, (name, hunks)
        changed = new[hunks[0][3] : hunks[0][4]]
        assert changed[-1] == 'msgid "What would you like some advice about?"', (name, changed)
        if name != "messages.pot":  # each translation keeps its wording, marked for review with the old English
            assert changed[:2] == ["#, fuzzy", f'#| msgid "{ADVICE_MENU}"'], (name, changed)
    update(flows, locales, capsys)
    assert files(locales) == after


def test_a_long_changed_text_keeps_its_old_english_as_gettext_writes_it_across_updates(
    copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = copy
    old = "Sorry, I still didn't understand. Here is the main menu. You can also tap Talk to a person."
    messages = flows / "messages.yaml"
    messages.write_text(
        messages.read_text(encoding="utf-8").replace(old, old.replace("I still", "I still really")), encoding="utf-8"
    )
    update(flows, locales, capsys)
    po = locales / "pl" / "LC_MESSAGES" / "messages.po"
    assert '#, fuzzy\n#| msgid ""\n#| "Sorry, I still didn\'t understand.' in po.read_text(encoding="utf-8")
    assert read_catalog(po, "pl")[old.replace("I still", "I still really")].previous_id == [old]
    after = files(locales)
    update(flows, locales, capsys)
    assert files(locales) == after
