"""Translation tooling: extracting the flows' English, updating catalogs, and per-language coverage."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

import bot.flows as flowspec
from bot.cli import main as cli
from bot.flows.content import load_content
from bot.i18n.coverage import measure
from bot.i18n.cycle import catalog_path, template_path
from bot.i18n.extract import extract_flows
from tests.conftest import MAIN, SERVICES, TRIGGERS, WriteFlows

SETTINGS_RO = """\
default_language: en
languages: [en, ro]
start: main.welcome
menu: main.menu
"""

TRIGGERS_RO = TRIGGERS.replace("      en: [person]\n", "      en: [person]\n      ro: [persoană]\n")

INFO_RICH = """\
flow: info
start: menu
nodes:
  menu:
    say:
      - Pick one.
      - |
        Or ask a person.
    choices:
      - {label: "Clinic", goto: clinic}
      - label: Leaving
        goto: exit.start
  clinic:
    say: Go to a clinic.
    services: [clinic, emergency]
    next: main.menu
    next_label: Done
"""

SERVICES_RICH = (
    SERVICES
    + """\
  emergency:
    name: "999"
    for: Police or ambulance.
    phone: "999"
    url: https://www.nhs.uk
    hours: Every day.
"""
)


def flows_ro(write_flows: WriteFlows, **files: str | None) -> Path:
    """The small flow set, offering Romanian, with Romanian trigger keywords."""
    return write_flows(settings_yaml=SETTINGS_RO, triggers_yaml=TRIGGERS_RO, **files)


def bot(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv, env={})
    out, err = capsys.readouterr()
    return code, out, err


def i18n(action: str, flows: Path, locales: Path, capsys: pytest.CaptureFixture[str], *more: str) -> str:
    code, out, err = bot(["i18n", action, "--flows", str(flows), "--locales", str(locales), *more], capsys)
    assert code == 0 and err == "", err
    return out


def translate(po: Path, translation: Callable[[str], str], *, only: set[str] | None = None) -> None:
    """Fill the empty entries of a catalog as a translator would."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and not message.string and (only is None or message.id in only):
            message.string = translation(str(message.id))
    with po.open("wb") as handle:
        write_po(handle, catalog)


def romanian(msgid: str) -> str:
    return f"RO {msgid}"


def extracted(path: Path) -> list[tuple[int, str, list[str]]]:
    with path.open("rb") as handle:
        return [(line, text, comments) for line, _, text, comments in extract_flows(handle, (), (), {})]


# -- the extractor --------------------------------------------------------------------------------


def test_extractor_yields_every_say_part_and_button_with_its_line(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO_RICH, services_yaml=SERVICES_RICH)
    found = extracted(directory / "info.yaml")
    assert [(line, text) for line, text, _ in found] == [
        (6, "Pick one."),
        (7, "Or ask a person."),  # a `|` block is stripped, as the loader strips it
        (10, "Clinic"),
        (11, "Leaving"),
        (14, "Go to a clinic."),
        (17, "Done"),
    ]
    assert found[0][2] == ["info.menu: message 1 of 2"]
    assert "keep it short" in found[2][2][0]


def test_extractor_takes_service_name_purpose_and_hours_but_never_numbers_or_links(write_flows: WriteFlows) -> None:
    directory = write_flows(services_yaml=SERVICES_RICH)
    found = [(line, text) for line, text, _ in extracted(directory / "services.yaml")]
    assert found == [(3, "Clinic"), (4, "Tests."), (7, "Police or ambulance."), (10, "Every day.")]


def test_extractor_takes_the_bots_own_words_but_not_staff_notes(write_flows: WriteFlows) -> None:
    directory = write_flows()
    found = {text: comments for _, text, comments in extracted(directory / "messages.yaml")}
    messages = flowspec.load(directory).messages
    assert messages["language_set"] in found and messages["help"] in found
    assert messages["staff_default_alias"] in found  # users see it
    assert messages["staff_queue_empty"] not in found  # staff read notes in the default language
    queued = found[messages["handoff_queued"]]
    assert any("{word}" in note for note in queued) and queued[0].startswith("handoff_queued: ")
    assert any("keep /commands" in note for note in found[messages["help"]])


def test_extractor_finds_nothing_to_translate_in_settings_or_triggers(write_flows: WriteFlows) -> None:
    directory = flows_ro(write_flows)
    assert extracted(directory / "settings.yaml") == [] and extracted(directory / "triggers.yaml") == []


def test_extractor_is_the_babel_method_named_flows(write_flows: WriteFlows) -> None:
    (entry,) = entry_points(group="babel.extractors", name="flows")
    assert entry.load() is extract_flows
    directory = write_flows()
    found = list(extract_from_file("flows", str(directory / "main.yaml")))
    assert (5, "Hello.", ["main.welcome: message"], None) in found


# -- the cycle: extract, update, translate, run ----------------------------------------------------


def test_translated_catalog_is_what_the_bot_says(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    out = i18n("update", flows, locales, capsys)
    po = catalog_path(locales, "ro")
    assert po.is_file() and template_path(locales).is_file()
    assert f"{po} (new) ro: 0% (0/" in out and "Next: translate" in out
    translate(po, lambda msgid: {"Hello.": "Bună."}.get(msgid, romanian(msgid)))
    texts = load_content(flows, locales).texts
    assert texts.get("ro", "Hello.") == "Bună."
    assert texts.get("ro", "Clinic") == "RO Clinic"
    assert texts.get("en", "Hello.") == "Hello."


def test_changed_english_keeps_the_old_translation_as_fuzzy_until_reviewed(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    translate(catalog_path(locales, "ro"), romanian)
    flows_ro(write_flows, main_yaml=MAIN.replace("say: Hello.", "say: Hello there."))
    i18n("update", flows, locales, capsys)
    with catalog_path(locales, "ro").open("rb") as handle:
        message = read_po(handle)["Hello there."]
    assert message.fuzzy and message.string == "RO Hello."
    # The translator sees what the English used to say, next to the guess.
    assert '#, fuzzy\n#| msgid "Hello."\nmsgid "Hello there."' in catalog_path(locales, "ro").read_text()
    # Until a translator confirms it, users keep reading the old wording, and check warns.
    assert load_content(flows, locales).texts.get("ro", "Hello there.") == "RO Hello."
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert (
        code == 0
        and "ro: warning: 1 fuzzy translation(s) keep their old wording until reviewed, the English changed: “Hello there.”"
        in out
    )


def test_extracting_unchanged_flows_leaves_the_template_byte_for_byte(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    assert "(updated)" in i18n("extract", flows, locales, capsys)
    before = template_path(locales).read_bytes()
    assert "(unchanged)" in i18n("extract", flows, locales, capsys)
    assert template_path(locales).read_bytes() == before
    # Locations name the file only: a line added above a text must not touch its entry.
    assert b'#: flows/main.yaml\nmsgid "Hello."' in before


def test_compiled_catalog_is_read_by_plain_gettext(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    translate(catalog_path(locales, "ro"), romanian)
    out = i18n("compile", flows, locales, capsys)
    assert out == f"ro: wrote {catalog_path(locales, 'ro').with_suffix('.mo')}\n"
    translations = gettext.translation("messages", str(locales), languages=["ro"])
    assert translations.gettext("Go to a clinic.") == "RO Go to a clinic."


# -- coverage and check -----------------------------------------------------------------------------


def test_coverage_counts_translated_missing_and_fuzzy(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    po = catalog_path(locales, "ro")
    translate(po, romanian)
    with po.open("rb") as handle:
        catalog = read_po(handle)
    catalog["Hello."].flags.add("fuzzy")
    catalog["Clinic"].string = ""
    with po.open("wb") as handle:
        write_po(handle, catalog)
    (ro,) = measure(flowspec.load(flows), flows, locales).languages
    assert ro.missing == ("Clinic",) and ro.fuzzy == ("Hello.",)
    assert ro.translated == ro.total - 2 and ro.total == len(catalog)
    assert ro.summary() == f"ro: {ro.translated * 100 // ro.total}% ({ro.translated}/{ro.total}): 1 missing, 1 fuzzy"


def test_check_passes_and_prints_each_language_at_100_percent(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    translate(catalog_path(locales, "ro"), romanian)
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    lines = out.splitlines()
    (ro,) = measure(flowspec.load(flows), flows, locales).languages
    assert code == 0, out
    assert lines[-2].startswith("OK:") and lines[-1] == f"ro: 100% ({ro.total}/{ro.total})"


def test_check_warns_once_per_language_about_texts_shown_in_english_naming_count_first_texts_and_lines(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    po = catalog_path(locales, "ro")
    untranslated = ["Whatever you decide, we support you.", "Pick one.", "Clinic", "Go to a clinic."]
    translate(po, romanian, only=set(flowspec.load(flows).messages.values()) | {"Hello."})
    translate(po, lambda msgid: "" if msgid in untranslated else romanian(msgid))
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    (warning,) = [line for line in out.splitlines() if line.startswith(f"{po}:")]
    lines = po.read_text(encoding="utf-8").splitlines()
    first = lines.index(f'msgid "{untranslated[0]}"') + 1
    assert code == 0, out
    assert warning.startswith(
        f"{po}:{first}: ro: warning: 4 text(s) new or changed in English, shown in English until translated: "
    )
    assert (
        f": “Whatever you decide, we support you.” (line {first}), “Pick one.” (line " in warning
        and "and 1 more —" in warning
    )
    assert bot(["check", str(flows), "--locales", str(locales), "--strict"], capsys)[0] == 1


def test_check_fails_when_a_trigger_has_no_keywords_in_an_offered_language(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = write_flows(settings_yaml=SETTINGS_RO), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    translate(catalog_path(locales, "ro"), romanian)
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 1
    assert f"{flows}/triggers.yaml:5: ro: 1 trigger(s) without `ro` keywords: help — add `ro: [" in out


def test_an_offered_language_without_a_catalog_fails_on_its_safety_texts(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    # Everything would show in English (a warning), but the bot's crisis and safety lines must be translated.
    assert code == 1 and f"{catalog_path(locales, 'ro')}:0: ro: warning: an offered language has no catalog" in out
    assert "ro: the crisis or safety text “I'm here with you." in out


def test_translation_that_drops_a_placeholder_is_an_error(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    queued = flowspec.load(flows).messages["handoff_queued"]
    translate(catalog_path(locales, "ro"), lambda msgid: "Sunteți în coadă." if msgid == queued else romanian(msgid))
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 1 and "does not have the same {position} as the English" in out


def test_language_being_prepared_is_reported_but_does_not_fail_check(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = write_flows(), tmp_path / "locales"
    out = i18n("update", flows, locales, capsys, "--locale", "pt_BR")
    assert "(not offered yet" in out
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 0 and out.splitlines()[-1].startswith("pt_BR: 0% (0/")


def test_entries_no_longer_in_the_flows_are_a_warning_until_update_drops_them(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    i18n("update", flows, locales, capsys)
    translate(catalog_path(locales, "ro"), romanian)
    flows_ro(write_flows, main_yaml=MAIN.replace('      - {label: "Person", do: handoff}\n', ""))
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 0 and "ro: warning: 1 old entry no longer in the flows: “Person”" in out
    i18n("update", flows, locales, capsys)
    code, out, _ = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 0 and "no longer in the flows" not in out


# -- operator errors: one line, no traceback --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["update", "--locale", "xx"], "error: `xx` is not a language code babel knows; use e.g. ro, pt_BR, zh_Hans"),
        (
            ["update", "--locale", "en"],
            "error: `en` is the default language: its text is the English in flows/, it needs no catalog",
        ),
        (["update", "--locale", "RO"], "error: write `ro` as in settings.yaml, not `RO`"),
        (["compile"], "error: no catalogs in {locales}: run `python -m bot i18n update` first"),
    ],
)
def test_i18n_mistakes_are_one_clear_line(
    argv: list[str], expected: str, write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    code, out, err = bot(["i18n", *argv, "--flows", str(flows), "--locales", str(locales)], capsys)
    assert (code, out, err) == (2, "", expected.format(locales=locales) + "\n")


def test_update_with_no_language_offered_says_how_to_add_one(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = bot(
        ["i18n", "update", "--flows", str(write_flows()), "--locales", str(tmp_path / "locales")], capsys
    )
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: settings.yaml offers only `en`: add codes to its `languages`")


def test_flows_with_errors_are_not_extracted(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = write_flows(main_yaml=MAIN.replace("goto: info.menu}", "goto: info.nowhere}", 1))
    code, out, err = bot(["i18n", "extract", "--flows", str(flows), "--locales", str(tmp_path / "locales")], capsys)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.splitlines()[-1] == "error: the flows have errors; run `python -m bot check` for details"
    assert not (tmp_path / "locales").exists()


def test_malformed_catalog_is_one_line_naming_the_file(
    write_flows: WriteFlows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows, locales = flows_ro(write_flows), tmp_path / "locales"
    po = catalog_path(locales, "ro")
    po.parent.mkdir(parents=True)
    po.write_bytes(b"\xff\xfe not a catalog")
    code, _, err = bot(["check", str(flows), "--locales", str(locales)], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: {po}: cannot read catalog")
