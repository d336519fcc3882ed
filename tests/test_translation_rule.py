"""The one translation rule: new English shows in English with a warning, fuzzy keeps its old wording,
crisis texts must be translated; the same in check, start-up, reload and conversation scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

import bot.flows as spec
from bot.cli import main as cli
from bot.conversation import Conversations
from bot.flows import FlowError
from bot.flows.content import load_content
from bot.i18n.cycle import catalog_path
from bot.i18n.rule import safety_texts
from bot.privacy.keys import Keyring
from bot.reload import Reloader
from bot.store import open_store
from tests.conftest import MAIN, TRIGGERS, WriteFlows

SETTINGS_RO = """\
default_language: en
languages: [en, ro]
start: main.welcome
menu: main.menu
"""

CRISIS = """\
flow: crisis
start: start
nodes:
  start:
    say: In danger now? Call 999.
    urgent: true
    choices:
      - {label: "Main menu", goto: main.menu}
"""

TRIGGERS_CRISIS = (
    TRIGGERS.replace("      en: [person]\n", "      en: [person]\n      ro: [persoană]\n")
    + """\
  - id: crisis
    priority: 100
    goto: crisis.start
    keywords:
      en: [danger]
      ro: [pericol]
"""
)

DANGER = "In danger now? Call 999."


def with_crisis(write_flows: WriteFlows, **files: str | None) -> Path:
    """The small flow set offering Romanian, with a crisis page reached by typing `danger`."""
    return write_flows(
        **{"settings_yaml": SETTINGS_RO, "triggers_yaml": TRIGGERS_CRISIS, "crisis_yaml": CRISIS, **files}
    )


def bot(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(argv, env={})
    return code, capsys.readouterr().out


def update(flows: Path, locales: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bot(["i18n", "update", "--flows", str(flows), "--locales", str(locales)], capsys)[0] == 0


def edit_catalog(po: Path, **change: object) -> None:
    """Translate every empty entry as `RO <english>`, then apply `change` (msgid -> msgstr, or None to empty it)."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and not message.string:
            message.string = f"RO {message.id}"
    for msgid, value in change.items():
        catalog[msgid].string = "" if value is None else str(value)
    with po.open("wb") as handle:
        write_po(handle, catalog)


def po_line(po: Path, msgid: str) -> int:
    lines = po.read_text(encoding="utf-8").splitlines()
    return lines.index(f'msgid "{msgid}"') + 1


@pytest.fixture
def translated(write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    """Flows with a crisis page, and a Romanian catalog translated whole."""
    flows, locales = with_crisis(write_flows), tmp_path / "locales"
    update(flows, locales, capsys)
    po = catalog_path(locales, "ro")
    edit_catalog(po)
    return flows, locales, po


def test_crisis_texts_are_the_crisis_flow_urgent_pages_their_buttons_and_the_lines_that_send_to_help(
    write_flows: WriteFlows,
) -> None:
    flowset = spec.load(with_crisis(write_flows))
    safety = safety_texts(flowset)
    assert {DANGER, "Main menu", flowset.messages["person_unknown"], flowset.messages["handoff_waiting"]} <= safety
    assert "Hello." not in safety and "Clinic" not in safety


def test_a_new_english_text_is_shown_in_english_with_one_warning_naming_its_po_line(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    with_crisis(write_flows, main_yaml=MAIN.replace("say: Menu.", "say: Menu, now longer."))
    update(flows, locales, capsys)
    edit_catalog(po, **{"Menu, now longer.": None})  # babel's guess emptied: a brand-new text
    texts = load_content(flows, locales).texts
    assert texts.get("ro", "Menu, now longer.") == "Menu, now longer." and texts.get("ro", "Hello.") == "RO Hello."
    code, out = bot(["check", str(flows), "--locales", str(locales)], capsys)
    line = po_line(po, "Menu, now longer.")
    assert code == 0, out
    assert (
        f"{po}:{line}: ro: warning: 1 text(s) new or changed in English, shown in English until translated: "
        f"“Menu, now longer.” (line {line}) — translate these entries"
    ) in out
    code, out = bot(["check", str(flows), "--locales", str(locales), "--strict"], capsys)
    assert code == 1 and f"{po}:{line}: ro: 1 text(s) new or changed" in out


def test_a_changed_english_text_keeps_its_old_translation_marked_fuzzy_with_a_warning(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    with_crisis(write_flows, main_yaml=MAIN.replace("say: Hello.", "say: Hello there."))
    update(flows, locales, capsys)
    assert load_content(flows, locales).texts.get("ro", "Hello there.") == "RO Hello."
    code, out = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 0, out
    assert (
        f"ro: warning: 1 fuzzy translation(s) keep their old wording until reviewed, the English changed: "
        f"“Hello there.” (line {po_line(po, 'Hello there.')})"
    ) in out
    assert bot(["check", str(flows), "--locales", str(locales), "--strict"], capsys)[0] == 1


def test_a_fuzzy_translation_with_other_numbers_than_the_new_english_is_not_shown(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, _ = translated
    info = (flows / "info.yaml").read_text().replace("say: Go to a clinic.", "say: Go to a clinic by 5pm.")
    with_crisis(write_flows, info_yaml=info)
    update(flows, locales, capsys)
    edit_catalog(catalog_path(locales, "ro"))
    with_crisis(write_flows, info_yaml=info.replace("by 5pm", "by 6pm"))
    update(flows, locales, capsys)
    assert load_content(flows, locales).texts.get("ro", "Go to a clinic by 6pm.") == "Go to a clinic by 6pm."


def test_a_fuzzy_guess_from_another_text_still_in_use_is_not_shown(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    # A new button close to "Clinic", which stays: babel guesses from it, but it is not an older "Clinics".
    info = (
        (flows / "info.yaml")
        .read_text()
        .replace(
            '      - {label: "Leaving", goto: exit.start}\n',
            '      - {label: "Leaving", goto: exit.start}\n      - {label: "Clinics", goto: clinic}\n',
        )
    )
    with_crisis(write_flows, info_yaml=info)
    update(flows, locales, capsys)
    with po.open("rb") as handle:
        guess = read_po(handle)["Clinics"]
    assert guess.fuzzy and guess.string == "RO Clinic"
    assert load_content(flows, locales).texts.get("ro", "Clinics") == "Clinics"


def test_a_missing_crisis_translation_is_an_error_naming_its_po_line_and_stops_the_bot(
    translated: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    edit_catalog(po, **{DANGER: None})
    code, out = bot(["check", str(flows), "--locales", str(locales)], capsys)
    line = po_line(po, DANGER)
    assert code == 1
    assert (f"{po}:{line}: ro: the crisis or safety text “{DANGER}” is not translated — translate this entry") in out
    with pytest.raises(FlowError) as caught:
        load_content(flows, locales, live=True)  # as at start-up: the bot does not run these flows
    assert any(DANGER in str(problem) for problem in caught.value.problems)
    assert load_content(flows, locales).texts.get("ro", DANGER) == DANGER  # a tool that only reads them may


def test_a_fuzzy_crisis_translation_is_an_error(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, _ = translated
    with_crisis(write_flows, crisis_yaml=CRISIS.replace("In danger now?", "In danger right now?"))
    update(flows, locales, capsys)
    code, out = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 1 and "“In danger right now? Call 999.” changed in English and its translation is fuzzy" in out


async def test_reload_takes_an_untranslated_edit_in_english_but_refuses_an_untranslated_crisis_text(
    translated: tuple[Path, Path, Path], write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    flows_dir, locales, _ = translated
    store = await open_store(":memory:")
    notices: list[str] = []

    async def notify(text: str) -> None:
        notices.append(text)

    conversations = Conversations(load_content(flows_dir, locales), store, Keyring(b"k" * 32))
    reloader = Reloader(conversations, flows_dir, locales, notify, poll_seconds=None)
    try:
        with_crisis(write_flows, main_yaml=MAIN.replace("say: Menu.", "say: The menu."))
        assert (await reloader.reload("test")).ok
        assert conversations.flows.texts.get("ro", "The menu.") == "The menu."
        with_crisis(write_flows, crisis_yaml=CRISIS.replace("Call 999.", "Call 999 or 112."))
        result = await reloader.reload("test")
        assert not result.ok and "In danger now? Call 999 or 112." in result.errors[0]
        assert "so they were NOT loaded" in notices[-1]
    finally:
        await store.close()


def test_check_replays_conversations_whatever_the_coverage(
    translated: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    edit_catalog(po, **{"Hello.": None, DANGER: None})
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "ro.yaml").write_text('lang: ro\nsteps:\n  - user: /start\n    bot: contains "Hello."\n')
    code, out = bot(["check", str(flows), "--locales", str(locales), "--conversations", str(scripts)], capsys)
    assert code == 1 and "the crisis or safety text" in out  # the error still fails check ...
    assert "conversations: 1 script(s) passed." in out  # ... and the scripts ran, Hello. in English


def test_the_shipped_flows_pass_check_strict_with_their_conversations(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import FLOWS, REPO

    code, out = bot(
        [
            "check",
            str(FLOWS),
            "--locales",
            str(REPO / "locales"),
            "--strict",
            "--conversations",
            str(REPO / "tests" / "conversations"),
        ],
        capsys,
    )
    assert code == 0, out
    assert "warning" not in out.replace("0 warning(s)", "") and "conversations: " in out


def test_english_needs_no_catalog_even_when_another_language_is_the_default(
    translated: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, _ = translated
    (flows / "settings.yaml").write_text(
        SETTINGS_RO.replace("default_language: en", "default_language: ro"), encoding="utf-8"
    )
    loaded = load_content(flows, locales, live=True)
    assert loaded.texts.get("ro", DANGER) == f"RO {DANGER}" and loaded.texts.get("en", DANGER) == DANGER


def test_the_bot_does_not_start_on_flows_with_an_untranslated_crisis_text(
    translated: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales, po = translated
    edit_catalog(po, **{DANGER: None})
    code = cli.main(
        ["chat", "--flows", str(flows), "--db", str(flows.parent / "bot.sqlite3")], env={"BOT_LOCALES": str(locales)}
    )
    err = capsys.readouterr().err
    assert code == 1 and f"ro: the crisis or safety text “{DANGER}” is not translated" in err
    assert err.splitlines()[-1] == "error: the flows have errors; run `python -m bot check` for details"
