"""The flow loader: every kind of mistake is reported with its file, line, node and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import FlowError, Problem, check, load
from tests.conftest import FLOWS, INFO, MAIN, WriteFlows


def problems(directory: Path) -> list[str]:
    return [str(p) for p in check(directory).problems]


def only_error(directory: Path) -> Problem:
    report = check(directory)
    assert report.flowset is None
    assert len(report.errors) == 1, [str(p) for p in report.errors]
    return report.errors[0]


def test_shipped_flows_load_without_errors_or_warnings() -> None:
    report = check(FLOWS)
    assert report.flowset is not None, [str(p) for p in report.problems]
    assert report.problems == ()


def test_minimal_flow_set_loads_into_frozen_dataclasses(write_flows: WriteFlows) -> None:
    flows = load(write_flows())
    clinic = flows.nodes["info.clinic"]
    assert clinic.say == ("Go to a clinic.",)
    assert clinic.next == "main.menu"
    assert flows.nodes["exit.start"].on_request
    assert flows.nodes["info.menu"].choices[0].goto == "info.clinic"
    with pytest.raises(AttributeError):
        clinic.say = ("changed",)  # type: ignore[misc]


def test_unknown_key_suggests_the_close_one(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("    say: Go to a clinic.", "    sya: Go to a clinic."))
    found = problems(directory)
    assert any(
        line.startswith(f"{directory}/info.yaml:10: info.clinic: unknown key `sya`") and "did you mean `say`?" in line
        for line in found
    ), found


def test_missing_say_names_the_node_and_line(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("    say: Go to a clinic.\n", ""))
    error = only_error(directory)
    assert (error.file, error.line, error.where) == (f"{directory}/info.yaml", 9, "info.clinic")
    assert "no `say`" in error.what and "add `say:`" in error.fix


def test_goto_to_a_missing_node_suggests_the_real_one(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("goto: clinic}", "goto: clinik}"))
    error = only_error(directory)
    assert error.line == 7 and error.where == "info.menu"
    assert "`goto: clinik` leads nowhere" in error.what
    assert "did you mean `clinic`?" in error.fix


def test_goto_to_a_missing_flow_is_reported(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("goto: exit.start}", "goto: exits.start}"))
    error = only_error(directory)
    assert error.line == 8 and "no flow `exits`" in error.fix and "did you mean `exit`?" in error.fix


def test_unknown_action_lists_the_real_ones(write_flows: WriteFlows) -> None:
    directory = write_flows(main_yaml=MAIN.replace("do: handoff", "do: handof"))
    error = only_error(directory)
    assert error.line == 8 and error.where == "main.welcome"
    assert "unknown action `handof`" in error.what and "did you mean `handoff`?" in error.fix


def test_unknown_service_id_is_an_error(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("services: [clinic]", "services: [clinc]"))
    error = only_error(directory)
    assert error.line == 11 and "unknown service `clinc`" in error.what and "`clinic`" in error.fix


def test_duplicate_node_ids_are_reported_at_the_second(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO + "  clinic:\n    say: Again.\n    end: true\n")
    found = [p for p in check(directory).errors if "twice" in p.what]
    assert len(found) == 1 and found[0].line == 13 and "`clinic` appears twice" in found[0].what


def test_dead_end_without_end_true_is_an_error(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("    next: main.menu\n", ""))
    error = only_error(directory)
    assert error.where == "info.clinic" and "dead end" in error.what and "end: true" in error.fix


def test_end_true_makes_a_node_without_choices_valid(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("    next: main.menu\n", "    end: true\n"))
    assert check(directory).flowset is not None


def test_next_into_an_on_request_node_is_refused(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("next: main.menu", "next: exit.start"))
    error = only_error(directory)
    assert error.line == 12 and "`next` leads into on_request node exit.start" in error.what
    assert "never assumed" in error.fix


def test_first_menu_may_not_offer_an_on_request_node(write_flows: WriteFlows) -> None:
    directory = write_flows(
        main_yaml=MAIN.replace(
            'goto: info.menu}\n      - {label: "Person"', 'goto: exit.start}\n      - {label: "Person"'
        )
    )
    error = only_error(directory)
    assert error.where == "main.welcome" and "first menu offers on_request node exit.start" in error.what


def test_start_node_may_not_be_on_request(write_flows: WriteFlows) -> None:
    from tests.conftest import SETTINGS

    directory = write_flows(settings_yaml=SETTINGS.replace("start: main.welcome", "start: exit.start"))
    errors = [str(p) for p in check(directory).errors]
    assert any("settings.yaml:3:" in e and "`start` is exit.start, which is on_request" in e for e in errors), errors


def test_on_request_node_reached_by_a_choice_or_trigger_is_fine(write_flows: WriteFlows) -> None:
    from tests.conftest import TRIGGERS

    directory = write_flows(
        triggers_yaml=TRIGGERS + "  - id: leave\n    goto: exit.start\n    keywords: {en: [leave sex work]}\n"
    )
    assert check(directory).flowset is not None


@pytest.mark.parametrize("word", ["hi", "exit", "help", "change", "转行"])
def test_check_refuses_exit_words_that_are_greetings_common_or_single_words(write_flows: WriteFlows, word: str) -> None:
    from tests.conftest import TRIGGERS

    directory = write_flows(
        triggers_yaml=TRIGGERS
        + f"  - id: leave\n    goto: exit.start\n    keywords: {{en: [leave sex work, {word}]}}\n"
    )
    error = only_error(directory)
    assert error.where == "trigger leave" and f"keyword `{word}`" in error.what and "never assumed" in error.fix


def test_check_refuses_a_trigger_ranked_as_high_as_crisis(write_flows: WriteFlows) -> None:
    from tests.conftest import TRIGGERS

    directory = write_flows(
        triggers_yaml="triggers:\n  - {id: crisis, priority: 100, goto: info.clinic, keywords: {en: [in danger]}}\n"
        "  - {id: chatty, priority: 100, do: handoff, keywords: {en: [talk]}}\n" + TRIGGERS.split("\n", 1)[1]
    )
    error = only_error(directory)
    assert error.where == "trigger chatty" and "not below crisis" in error.what


def test_empty_label_is_an_error(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace('label: "Clinic"', 'label: ""'))
    error = only_error(directory)
    assert error.line == 7 and "choice `label` is empty" in error.what


def test_unquoted_yes_no_label_gets_a_quote_hint(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace('label: "Clinic"', "label: No"))
    error = only_error(directory)
    assert "read as a bool" in error.what and "quotes" in error.fix


def test_invalid_yaml_gives_parser_line_and_column(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("    say: Pick one.", "    say: [Pick one."))
    errors = check(directory).errors
    syntax = [p for p in errors if "invalid YAML" in p.what]
    assert len(syntax) == 1 and syntax[0].file.endswith("info.yaml")
    assert syntax[0].line in (5, 6) and "column" in syntax[0].what


def test_unreachable_node_is_a_warning_and_still_loads(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO + "  lonely:\n    say: Nobody comes here.\n    end: true\n")
    report = check(directory)
    assert report.flowset is not None
    assert [(w.where, w.line) for w in report.warnings] == [("info.lonely", 13)]
    assert "warning:" in str(report.warnings[0])


def test_all_problems_are_reported_at_once_across_files(write_flows: WriteFlows) -> None:
    directory = write_flows(
        info_yaml=INFO.replace("goto: clinic}", "goto: nowhere}").replace("services: [clinic]", "services: [gone]"),
        main_yaml=MAIN.replace("do: handoff", "do: nothing"),
    )
    errors = check(directory).errors
    assert len(errors) == 3
    assert {Path(e.file).name for e in errors} == {"info.yaml", "main.yaml"}


def test_a_broken_set_does_not_load_at_all(write_flows: WriteFlows) -> None:
    directory = write_flows(info_yaml=INFO.replace("goto: clinic}", "goto: nowhere}"))
    with pytest.raises(FlowError) as raised:
        load(directory)
    assert "info.yaml:7: info.menu:" in str(raised.value)


def test_missing_flows_directory_is_one_clear_problem(tmp_path: Path) -> None:
    report = check(tmp_path / "nope")
    assert report.flowset is None and "flows directory not found" in str(report.errors[0])


def test_missing_special_file_is_named(write_flows: WriteFlows) -> None:
    directory = write_flows(services_yaml=None)
    errors = [str(p) for p in check(directory).errors]
    assert any("services.yaml is missing" in e for e in errors), errors


def test_missing_message_names_the_key(write_flows: WriteFlows) -> None:
    directory = write_flows()
    messages = (directory / "messages.yaml").read_text().replace('not_understood: "', 'not_understood_x: "')
    (directory / "messages.yaml").write_text(messages)
    errors = [str(p) for p in check(directory).errors]
    assert any("message `not_understood` is missing" in e for e in errors), errors
    assert any("unknown key `not_understood_x`" in e and "did you mean `not_understood`?" in e for e in errors)


def test_flow_name_defined_twice_names_both_files(write_flows: WriteFlows) -> None:
    directory = write_flows(extra_yaml=INFO)
    errors = [str(p) for p in check(directory).errors]
    assert any("flow `info` is also defined in" in e for e in errors), errors


def test_trigger_with_bad_language_and_no_keywords(write_flows: WriteFlows) -> None:
    directory = write_flows(
        triggers_yaml="triggers:\n  - id: a\n    do: handoff\n    keywords:\n      xx_not_a_lang: [hi]\n"
        "  - id: b\n    do: handoff\n    keywords: {}\n"
    )
    errors = [str(p) for p in check(directory).errors]
    assert any("triggers.yaml:5: trigger a: `xx_not_a_lang` is not a language code" in e for e in errors), errors
    assert any("trigger b: the trigger has no keywords" in e for e in errors), errors


def test_triggers_are_sorted_by_priority(write_flows: WriteFlows) -> None:
    directory = write_flows(
        triggers_yaml="triggers:\n  - {id: low, priority: 1, do: handoff, keywords: {en: [a]}}\n"
        "  - {id: high, priority: 9, goto: info.clinic, keywords: {en: [b]}}\n"
    )
    flows = load(directory)
    assert [t.id for t in flows.triggers] == ["high", "low"]


def test_service_checked_over_a_year_ago_is_a_warning(write_flows: WriteFlows) -> None:
    from datetime import date

    directory = write_flows(services_yaml="services:\n  clinic:\n    name: C\n    for: T.\n    checked: 2020-01-01\n")
    report = check(directory, today=date(2026, 11, 25))
    assert report.flowset is not None
    assert any("over a year ago" in w.what and w.line == 5 for w in report.warnings)


def test_staff_hours_are_parsed_and_bad_ones_explained(write_flows: WriteFlows) -> None:
    from tests.conftest import SETTINGS

    good = load(write_flows(settings_yaml=SETTINGS + 'staff_hours:\n  mon: "10:00-17:30"\n'))
    assert str(good.settings.staff_hours[0][0][1]) == "17:30:00"
    directory = write_flows(settings_yaml=SETTINGS + 'staff_hours:\n  mon: "17:00-10:00"\n  funday: "1:00-2:00"\n')
    errors = [str(p) for p in check(directory).errors]
    assert any("do not make sense" in e for e in errors) and any("unknown key `funday`" in e for e in errors)


def test_the_loaded_model_keeps_the_line_of_every_node_choice_text_and_trigger(write_flows: WriteFlows) -> None:
    main = MAIN.replace("say: Menu.", "say:\n      - First.\n      - |\n        Second,\n        in a block.")
    directory = write_flows(main_yaml=main)
    sources = load(directory).sources
    main_file = str(directory / "main.yaml")
    assert (sources.get("node", "main.welcome").file, sources.get("node", "main.welcome").line) == (main_file, 4)
    assert sources.get("node", "main.welcome", "choices", 1).line == 8  # the second button
    assert sources.get("node", "main.menu", "say", 0).line == 11
    block = sources.get("node", "main.menu", "say", 1)
    assert (block.line, block.text_line) == (12, 13)  # the `- |` line, and the line its words start on
    assert sources.get("node", "main.welcome", "say", 0).line == 5  # a single text: the line of `say:`
    assert str(sources.get("trigger", "help", "keywords", "en", 0)) == f"{directory / 'triggers.yaml'}:6"
    assert sources.get("service", "clinic", "for").line == 4
    assert sources.get("message", "help") is not None and sources.get("settings", "menu").line == 4


def test_a_derived_value_is_built_once_per_flow_set_and_a_new_set_starts_empty(write_flows: WriteFlows) -> None:
    from bot.flows import DerivedKey
    from bot.i18n.catalog import Texts

    flows = load(write_flows())
    key: DerivedKey[list[str]] = DerivedKey("test")
    built: list[int] = []

    def build() -> list[str]:
        built.append(1)
        return sorted(flows.nodes)

    assert flows.derived.get(key, build) is flows.derived.get(key, build)
    assert len(built) == 1
    flows.with_texts(Texts()).derived.get(key, build)
    assert len(built) == 2


def test_every_text_of_a_node_is_where_the_extractor_finds_it() -> None:
    from bot.flows.yamlsource import read_yaml
    from bot.i18n.extract import texts_in

    flows = load(FLOWS)
    extracted = {
        (str(path), item.line, item.text)
        for path in FLOWS.glob("*.yaml")
        for item in texts_in(path.name, read_yaml(path))
    }
    in_model = set()
    for node in flows.nodes.values():
        texts = [(("say", i), text) for i, text in enumerate(node.say)]
        texts += [(("choices", i, "label"), choice.label) for i, choice in enumerate(node.choices)]
        texts += [(("next_label",), node.next_label)] if node.next_label else []
        for path, text in texts:
            source = flows.sources.get("node", node.id, *path)
            assert source is not None
            in_model.add((source.file, source.line, text))
    assert len(in_model) > 100
    assert in_model <= extracted, sorted(in_model - extracted)[:3]


def test_a_not_in_phrase_that_holds_no_keyword_of_its_trigger_is_refused(write_flows: WriteFlows) -> None:
    from tests.conftest import TRIGGERS

    directory = write_flows(
        triggers_yaml="triggers:\n  - id: crisis\n    priority: 100\n    goto: info.clinic\n"
        "    keywords: {en: [emergency]}\n    not_in:\n      en: [morning after pill]\n" + TRIGGERS.split("\n", 1)[1]
    )
    error = only_error(directory)
    assert (error.line, error.where) == (7, "trigger crisis")
    assert "`morning after pill` (en) holds none of this trigger's keywords" in error.what


def test_a_keyword_inside_a_not_in_phrase_does_not_fire_but_elsewhere_in_the_message_it_does(
    write_flows: WriteFlows,
) -> None:
    from tests.conftest import TRIGGERS

    directory = write_flows(
        triggers_yaml="triggers:\n  - id: crisis\n    priority: 100\n    goto: info.clinic\n"
        "    keywords: {en: [emergency]}\n    not_in: {en: [emergency contraception]}\n" + TRIGGERS.split("\n", 1)[1]
    )
    index = load(directory).trigger_index
    assert index.first_match("en", "emergency contraception") is None
    assert index.first_match("ro", "emergency contraception please") is None  # English phrases count everywhere
    for said in ("emergency", "emergency i need emergency contraception", "emergency contraception emergency"):
        found = index.first_match("en", said)
        assert found is not None and found.id == "crisis", said
