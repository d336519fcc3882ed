"""Lint: one warning per rule, each naming file, line, node, what is wrong and the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.flows import check, load
from bot.flows.lint import lint
from tests.conftest import INFO, MAIN, SERVICES, TRIGGERS, WriteFlows


def warnings_for(directory: Path) -> list[str]:
    return [str(p) for p in lint(load(directory), directory)]


def test_a_valid_small_set_has_no_lint_warnings(write_flows: WriteFlows) -> None:
    directory = write_flows(services_yaml=SERVICES + "    checked: 2026-01-10\n")
    assert warnings_for(directory) == []


def test_unreachable_node_is_reported_by_check(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO + "  orphan:\n    say: Nobody comes here.\n    next: main.menu\n")
    report = check(directory)
    assert [str(p) for p in report.warnings] == [
        f"{directory}/info.yaml:13: info.orphan: warning: no choice, `next` or trigger leads here"
        " — link to it from a menu, or delete it"
    ]


def test_a_loop_with_no_way_back_to_the_menu_is_a_dead_end(write_flows: WriteFlows) -> None:
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        info_yaml=INFO.replace("next: main.menu", "next: loop")
        + """\
  loop:
    say: Round we go.
    choices:
      - {label: "Again", goto: clinic}
      - {label: "Language", do: language}
""",
    )
    assert warnings_for(directory) == [
        f"{directory}/info.yaml:9: info.clinic: warning: dead end: no button here, or after it, leads back to the "
        "main menu — add a choice `goto: main.menu`, or `next: main.menu`",
        f"{directory}/info.yaml:13: info.loop: warning: dead end: no button here, or after it, leads back to the "
        "main menu — add a choice `goto: main.menu`, or `next: main.menu`",
    ]


def test_end_nodes_and_handoffs_are_not_dead_ends(write_flows: WriteFlows) -> None:
    # exit.start is `end: true` (the bot adds a Main menu button); a handoff always ends with one too.
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        info_yaml=INFO.replace("    next: main.menu\n", "    choices:\n      - {label: Person, do: handoff}\n"),
    )
    assert warnings_for(directory) == []


def test_a_message_over_600_characters_is_flagged_at_its_own_line(write_flows: WriteFlows) -> None:
    long_text = "Word " * 130
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        info_yaml=INFO.replace("    say: Go to a clinic.\n", f"    say:\n      - Short first.\n      - {long_text}\n"),
    )
    assert warnings_for(directory) == [
        f"{directory}/info.yaml:12: info.clinic: warning: message is {len(long_text.strip())} characters, over 600"
        " — shorten it, or split it into a list of messages or a `next:` step"
    ]


def test_more_than_eight_buttons_counts_next_as_a_button(write_flows: WriteFlows) -> None:
    many = "".join(f'      - {{label: "Option {i}", goto: info.menu}}\n' for i in range(8))
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        main_yaml=MAIN.replace(
            '      - {label: "Person", do: handoff}\n',
            '      - {label: "Person", do: handoff}\n' + many + "    next: menu\n",
        ),
    )
    assert warnings_for(directory) == [
        f"{directory}/main.yaml:6: main.welcome: warning: 11 buttons, over 8 — group some choices under a new sub-menu node"
    ]


def test_services_never_checked_or_checked_over_a_year_ago(write_flows: WriteFlows) -> None:
    directory = write_flows(
        services_yaml=SERVICES + "  old:\n    name: Old\n    for: Old things.\n    checked: 2024-01-02\n"
    )
    assert warnings_for(directory) == [
        f"{directory}/services.yaml:2: service clinic: warning: no `checked` date, so nobody knows when its details"
        " were last confirmed — check it against `source` and add `checked: YYYY-MM-DD`"
    ]
    stale = check(directory, today=date(2026, 1, 10)).warnings
    assert [str(p) for p in stale] == [
        f"{directory}/services.yaml:8: service old: warning: last checked 2024-01-02, over a year ago"
        " — check the details against `source` and update `checked`"
    ]


def test_a_keyword_two_triggers_share_is_flagged_on_the_one_tried_second(write_flows: WriteFlows) -> None:
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        triggers_yaml=TRIGGERS
        + """\
  - id: clinic
    priority: 5
    goto: info.clinic
    keywords:
      en: [clinic, Person, talk to a person now]
""",
    )
    assert warnings_for(directory) == [
        f"{directory}/triggers.yaml:11: trigger clinic: warning: keyword `Person` is also a keyword of trigger `help`,"
        " which is tried first, so it never reaches `clinic` — remove it from one of them, or give `clinic` a higher priority",
        f"{directory}/triggers.yaml:11: trigger clinic: warning: keyword `talk to a person now` contains a keyword of"
        " trigger `help`, which is tried first, so it never reaches `clinic` — remove it from one of them, or give"
        " `clinic` a higher priority",
    ]


def test_an_english_keyword_competes_in_every_language(write_flows: WriteFlows) -> None:
    directory = write_flows(
        services_yaml=SERVICES + "    checked: 2026-01-10\n",
        settings_yaml="default_language: en\nlanguages: [en, ro]\nstart: main.welcome\nmenu: main.menu\n",
        triggers_yaml=TRIGGERS
        + """\
  - id: clinic
    priority: 5
    goto: info.clinic
    keywords:
      ro: [clinică, person]
""",
    )
    (warning,) = warnings_for(directory)
    assert warning.startswith(
        f"{directory}/triggers.yaml:11: trigger clinic: warning: keyword `person` is also a keyword"
    )


def test_check_prints_lint_warnings_and_still_passes(
    write_flows: WriteFlows, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_flows(info_yaml=INFO.replace("    say: Go to a clinic.\n", f"    say: {'Long. ' * 120}\n"))
    assert cli.main(["check", str(directory)], {"BOT_LOCALES": str(directory / "no-locales")}) == 0
    out = capsys.readouterr().out
    assert f"{directory}/info.yaml:10: info.clinic: warning: message is 719 characters, over 600" in out
    assert f"{directory}/services.yaml:2: service clinic: warning: no `checked` date" in out
    assert "OK: 3 flows" in out and "2 warning(s)" in out


def test_check_counts_the_service_cards_of_an_urgent_page_in_the_length_rule(write_flows: WriteFlows) -> None:
    long_for = "A service that helps. " * 12
    services = "services:\n" + "".join(
        f"  s{i}:\n    name: Service {i}\n    for: {long_for}\n    checked: 2026-01-10\n" for i in range(3)
    )
    directory = write_flows(
        services_yaml=services,
        info_yaml=INFO.replace("services: [clinic]", "services: [s0, s1, s2]\n    urgent: true"),
    )
    (warning,) = warnings_for(directory)
    assert "info.clinic: warning: the service cards of this urgent page are" in warning and "over 600" in warning


def test_check_shows_which_languages_a_person_has_reviewed(write_flows: WriteFlows) -> None:
    from bot.flows.lint import review_status

    settings = (
        "default_language: en\nlanguages: [en, ro, es]\nstart: main.welcome\nmenu: main.menu\n"
        "reviewed:\n  ro: {by: Ana (peer educator), date: 2026-11-30}\n"
        '  es: {by: null, date: null, note: "machine-written, needs a peer reviewer"}\n'
    )
    flows = load(write_flows(settings_yaml=settings))
    assert review_status(flows) == [
        "ro: reviewed by Ana (peer educator) on 2026-11-30",
        "es: NOT reviewed by a person yet (machine-written, needs a peer reviewer)",
    ]


@pytest.mark.parametrize(
    "entry", ["{by: Ana, date: null}", "{by: null, date: 2026-11-30}", "{by: Ana, date: yesterday}"]
)
def test_check_refuses_a_review_without_both_a_name_and_a_date(write_flows: WriteFlows, entry: str) -> None:
    settings = (
        f"default_language: en\nlanguages: [en, ro]\nstart: main.welcome\nmenu: main.menu\nreviewed:\n  ro: {entry}\n"
    )
    report = check(write_flows(settings_yaml=settings))
    assert report.flowset is None
    assert any("`reviewed: ro`" in p.what for p in report.errors), report.errors
