"""Discretion: typed identifying details are not needed and not kept; lock-screen previews read neutrally."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Reply, ServiceCard, Text
from bot.flows import FlowSet
from bot.flows.content import load_content
from bot.privacy.discretion import preview_problems
from bot.privacy.identifying import looks_identifying
from bot.transports.telegram.render import render_reply
from tests.conftest import MAIN, SETTINGS, WriteFlows
from tests.test_engine import flows, run  # noqa: F401 - `flows` is a fixture

PREVIEW_SETTINGS = (
    SETTINGS.replace("languages: [en]", "languages: [en, ro]") + "preview_words:\n  en: [hiv, sex]\n  ro: [sexuală]\n"
)


@pytest.mark.parametrize(
    "text",
    [
        "+44 7700 900123",
        "07700900123",
        "call me on 07700 900 123 please",
        "my number is (0161) 496 0000",
        "me@example.org",
        "write to maria.p+work@mail.co.uk",
        "SW1A 1AA",
        "i live near m1 1ae",
        "postcode E1 6AN",
        "+40 721 234 567",
    ],
)
def test_phone_numbers_emails_and_postcodes_are_spotted(text: str) -> None:
    assert looks_identifying(text)


@pytest.mark.parametrize(
    "text",
    [
        "I need PEP within 72 hours",
        "test every 3 months",
        "2026-11-25",
        "25/11/2026",
        "I'm 25",
        "option 2",
        "hello",
        "HIV 1 and 2",
        "call 999",
        "116 123",
        "0808 802 1221 is the number you gave me",
    ],
)
def test_ordinary_messages_and_numbers_the_bot_gave_are_not_flagged(text: str) -> None:
    # Helpline numbers the bot itself shows (11 digits, like 0808 802 1221) do look like phone
    # numbers; a user repeating one back gets the gentle note, which is harmless.
    if text.startswith("0808"):
        assert looks_identifying(text)
    else:
        assert not looks_identifying(text)


def test_a_typed_phone_number_gets_a_gentle_note_and_the_same_menu_again(flows: FlowSet) -> None:  # noqa: F811
    state, (_, first, second) = run(flows, Text("hi"), Text("Info"), Text("my number is 07700 900123"))
    assert state.node == "info.menu"
    assert "don't need to give me a phone number" in second.reply.parts[0]
    assert [b.label for b in second.reply.buttons] == [b.label for b in first.reply.buttons]
    assert ("discretion", "details") in second.events
    assert not any("07700" in str(event) for event in second.events)


def test_crisis_words_still_count_when_a_number_is_typed_with_them(flows: FlowSet) -> None:  # noqa: F811
    state, (outcome,) = run(flows, Text("I was attacked, call me on 07700 900123"))
    assert state.node == "info.clinic"  # the fixture's crisis trigger goes here
    assert "don't need to give me a phone number" in outcome.reply.parts[0]
    assert ("trigger", "crisis") in outcome.events


def test_an_email_as_the_first_message_gets_the_note_and_the_welcome(flows: FlowSet) -> None:  # noqa: F811
    state, (outcome,) = run(flows, Text("maria@example.org"))
    assert state.node == "main.welcome"
    assert outcome.reply.parts[1:] == ("Hello.",)


def test_a_first_line_with_a_preview_word_is_reported_with_file_and_line(write_flows: WriteFlows) -> None:
    main = MAIN.replace("say: Menu.", "say: |\n      HIV tests are free.\n      More here.")
    directory = write_flows(settings_yaml=PREVIEW_SETTINGS, main_yaml=main)
    flowset = load_content(directory, directory.parent / "locales")
    (problem,) = [
        p for p in preview_problems(flowset, directory, directory.parent / "locales") if p.where == "main.menu"
    ]
    assert (problem.file, problem.line, problem.where, problem.severity) == (
        "flows/main.yaml",
        11,
        "main.menu",
        "warning",
    )
    assert "`hiv`" in problem.what and "[en]" in problem.what


def test_words_after_the_first_line_are_fine(write_flows: WriteFlows) -> None:
    main = MAIN.replace("say: Menu.", "say: |\n      Here is what you can do.\n      HIV tests are free.")
    directory = write_flows(settings_yaml=PREVIEW_SETTINGS, main_yaml=main)
    assert (
        preview_problems(load_content(directory, directory.parent / "locales"), directory, directory.parent / "locales")
        == []
    )


def test_a_translated_first_line_is_checked_against_its_own_words_and_english_ones(
    write_flows: WriteFlows, tmp_path: Path
) -> None:
    directory = write_flows(settings_yaml=PREVIEW_SETTINGS)
    catalog = tmp_path / "locales" / "ro" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Hello."\nmsgstr "Sănătate sexuală."\n\nmsgid "Menu."\nmsgstr "Testul HIV."\n',
        encoding="utf-8",
    )
    flowset = load_content(directory, tmp_path / "locales")
    found = {
        (p.file, p.where, p.what.split("`")[1]) for p in preview_problems(flowset, directory, tmp_path / "locales")
    }
    assert found == {
        ("locales/ro/LC_MESSAGES/messages.po", "main.welcome", "sexuală"),
        ("locales/ro/LC_MESSAGES/messages.po", "main.menu", "hiv"),
    }


def test_service_cards_start_with_a_neutral_title() -> None:
    card = ServiceCard("clinic", "Sexual health clinic", "Tests.", "0300 000 0000", None, None, None)
    (_, cards) = render_reply(Reply(("Here you go.",), (), (card,), "Places that can help:"))
    assert cards.html.split("\n", 1)[0] == "Places that can help:"
