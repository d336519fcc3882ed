"""The pure engine: every input kind, back, triggers, languages, effects, stale input."""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

import pytest

import bot.flows as flowspec
from bot.engine import (
    Command,
    Forget,
    Handoff,
    Media,
    Outcome,
    Pick,
    SetLocale,
    State,
    Text,
    start_state,
    step,
)
from bot.flows import FlowSet
from bot.i18n.catalog import Texts
from bot.vocabulary import LANGUAGE_MENU
from tests.conftest import SETTINGS, WriteFlows

NOW = datetime(2026, 11, 25, 14, 30)
RO = {
    "Pick one.": "Alege una.",
    "Clinic": "Clinică",
    "Go to a clinic.": "Mergi la o clinică.",
    "Tests.": "Teste.",
    "Which language would you like?": "Ce limbă preferi?",
}
TRIGGERS = """\
triggers:
  - id: crisis
    priority: 100
    goto: info.clinic
    keywords:
      en: [in danger, attacked]
      ro: [atacată, în pericol]
      th: [อันตราย]
  - id: human
    priority: 50
    do: handoff
    keywords:
      en: [person]
"""


@pytest.fixture
def flows(write_flows: WriteFlows) -> FlowSet:
    directory = write_flows(
        settings_yaml=SETTINGS.replace("languages: [en]", "languages: [en, ro, th]") + "back_depth: 3\n",
        triggers_yaml=TRIGGERS,
    )
    return flowspec.load(directory).with_texts(Texts(MappingProxyType({"ro": MappingProxyType(RO)})))


def run(flows: FlowSet, *inputs: Text | Pick | Command, locale: str = "en") -> tuple[State, list[Outcome]]:
    state = start_state(flows, locale)
    outcomes = []
    for inbound in inputs:
        outcome = step(flows, state, inbound, NOW)
        outcomes.append(outcome)
        state = outcome.state
    return state, outcomes


def labels(outcome: Outcome) -> list[str]:
    return [b.label for b in outcome.reply.buttons]


def test_first_message_of_any_kind_shows_the_welcome_and_counts_a_conversation(flows: FlowSet) -> None:
    state, (outcome,) = run(flows, Text("hi there"))
    assert state.node == "main.welcome"
    assert outcome.reply.parts == ("Hello.",)
    assert labels(outcome) == ["Info", "Person"]
    assert ("conversation", "started") in outcome.events and ("node", "main.welcome") in outcome.events


def test_button_goes_to_its_target_and_remembers_the_way_back(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Pick("main.welcome", "c:0"))
    assert state.node == "info.menu" and state.back == ("main.welcome",)
    assert labels(outcomes[-1]) == ["Clinic", "Leaving"]


def test_typed_label_selects_the_choice_ignoring_case_accents_and_spacing(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("  INFO!  "), Text("clínic"))
    assert state.node == "info.clinic"


def test_typed_number_selects_the_choice(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("1"), Text("2."))
    assert state.node == "exit.start"


def test_typed_label_in_the_users_language_selects_the_choice(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Text("clinica"), locale="ro")
    assert state.node == "info.clinic"
    assert outcomes[-1].reply.parts == ("Mergi la o clinică.",)
    assert outcomes[-1].reply.services[0].about == "Teste."


def test_english_label_still_works_in_another_language(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("info"), Text("Clinic"), locale="ro")
    assert state.node == "info.clinic"


def test_trigger_beats_the_current_node(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Text("I think I am in danger"))
    assert state.node == "info.clinic"
    assert ("trigger", "crisis") in outcomes[-1].events


def test_higher_priority_trigger_wins_when_two_match(flows: FlowSet) -> None:
    _, outcomes = run(flows, Command("start"), Text("a person attacked me"))
    assert ("trigger", "crisis") in outcomes[-1].events and ("trigger", "human") not in outcomes[-1].events


def test_trigger_matches_in_the_users_language_without_accents(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("am fost ATACATA"), locale="ro")
    assert state.node == "info.clinic"


def test_english_triggers_work_in_every_language(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("attacked"), locale="ro")
    assert state.node == "info.clinic"


def test_thai_keyword_matches_inside_unspaced_text(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("ฉันอยู่ในอันตรายตอนนี้"), locale="th")
    assert state.node == "info.clinic"


def test_keyword_inside_another_word_does_not_fire(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("personally fine"))
    assert state.node == "main.welcome" and not outcomes[-1].effects


def test_unknown_text_says_so_and_offers_the_same_choices_again(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Text("qwerty"))
    assert state.node == "info.menu"
    assert outcomes[-1].reply.parts[0].startswith("Sorry, I didn't catch that")
    assert labels(outcomes[-1]) == ["Clinic", "Leaving"]
    assert outcomes[-1].events == ()


def test_back_returns_to_the_previous_node_then_to_the_menu(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("info"), Text("clinic"), Command("back"))
    assert state.node == "info.menu"
    state, _ = run(flows, Command("start"), Command("back"))
    assert state.node == "main.menu"


def test_back_stack_is_bounded(flows: FlowSet) -> None:
    moves = [Command("start")] + [Text("info"), Text("clinic"), Pick("info.clinic", "next")] * 3
    state, _ = run(flows, *moves)
    assert len(state.back) == 3


def test_start_clears_the_way_back(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("info"), Command("start"))
    assert state.node == "main.welcome" and state.back == ()


def test_menu_command_goes_to_the_menu(flows: FlowSet) -> None:
    state, _ = run(flows, Command("start"), Text("info"), Command("menu"))
    assert state.node == "main.menu" and state.back[-1] == "info.menu"


def test_next_button_is_labelled_main_menu_when_it_leads_there(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Text("clinic"))
    # A page with services also offers the one-tap "Did this help?" answers after its own buttons.
    assert labels(outcomes[-1])[0] == "Main menu"
    state, _ = run(flows, Command("start"), Text("info"), Text("clinic"), Pick("info.clinic", "next"))
    assert state.node == "main.menu"


def test_end_node_offers_the_main_menu(flows: FlowSet) -> None:
    _, outcomes = run(flows, Command("start"), Text("info"), Text("leaving"))
    assert [(b.label, b.action) for b in outcomes[-1].reply.buttons] == [("Main menu", "menu")]


def test_language_menu_names_each_language_in_itself(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Command("language"))
    assert state.node == LANGUAGE_MENU
    assert labels(outcomes[-1]) == ["English", "Română", "ไทย"]


def test_picking_a_language_switches_and_returns_to_where_the_user_was(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Command("language"), Text("romana"))
    assert state.locale == "ro" and state.node == "info.menu"
    assert SetLocale("ro") in outcomes[-1].effects
    assert outcomes[-1].reply.parts[-1] == "Alege una."
    assert ("language", "ro") in outcomes[-1].events


def test_language_picker_accepts_a_number(flows: FlowSet) -> None:
    state, _ = run(flows, Command("language"), Text("2"))
    assert state.locale == "ro"


def test_forget_deletes_state_and_says_so(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Command("forget"))
    assert Forget() in outcomes[-1].effects
    assert state.node is None and state.back == ()
    assert outcomes[-1].reply.parts[0].startswith("Done. I have deleted")


def test_human_command_requests_a_handoff_with_the_path_taken(flows: FlowSet) -> None:
    _, outcomes = run(flows, Command("start"), Text("info"), Text("clinic"), Command("human"))
    assert Handoff(("main.welcome", "info.menu", "info.clinic")) in outcomes[-1].effects
    assert ("handoff", "requested") in outcomes[-1].events


def test_help_explains_and_keeps_the_current_choices(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Command("help"))
    assert state.node == "info.menu" and "/menu" in outcomes[-1].reply.parts[0]
    assert labels(outcomes[-1]) == ["Clinic", "Leaving"]


def test_unknown_command_is_not_understood(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Command("frobnicate"))
    assert state.node == "main.welcome" and outcomes[-1].reply.parts[0].startswith("Sorry")


def test_stale_or_forged_button_says_the_menu_changed(flows: FlowSet) -> None:
    for pick in (
        Pick("info.menu", "c:9"),
        Pick("gone.node", "c:0"),
        Pick("info.menu", "drop table"),
        Pick(LANGUAGE_MENU, "lang:xx"),
    ):
        state, outcomes = run(flows, Command("start"), pick)
        assert state.node == "main.welcome", pick
        assert outcomes[-1].reply.parts[0].startswith("That menu has changed"), pick
        assert labels(outcomes[-1]) == ["Info", "Person"]


def test_user_on_a_vanished_node_lands_on_the_menu(flows: FlowSet) -> None:
    outcome = step(flows, State(node="old.node", locale="en", back=("older",)), Text("hello"), NOW)
    assert outcome.state.node == "main.menu"
    assert outcome.reply.parts[0].startswith("That menu has changed")


def test_step_is_pure_and_records_only_the_day(flows: FlowSet) -> None:
    state = start_state(flows, "en")
    first = step(flows, state, Text("info"), NOW)
    second = step(flows, state, Text("info"), NOW)
    assert first == second and state == start_state(flows, "en")
    assert first.state.day == NOW.date().toordinal()


def test_unoffered_locale_falls_back_to_the_default(flows: FlowSet) -> None:
    assert start_state(flows, "de").locale == "en"


def test_photo_gets_a_text_only_answer_and_the_same_choices(flows: FlowSet) -> None:
    state, outcomes = run(flows, Command("start"), Text("info"), Media("photo"))
    assert state.node == "info.menu"
    assert outcomes[-1].reply.parts[0].startswith("I can only read text")
    assert labels(outcomes[-1]) == ["Clinic", "Leaving"]


def test_location_or_contact_gets_a_warning_not_to_share_identifying_details(flows: FlowSet) -> None:
    for kind in ("location", "contact"):
        _, outcomes = run(flows, Media(kind))
        assert "Please don't share your location" in outcomes[-1].reply.parts[0]
        assert labels(outcomes[-1]) == ["Info", "Person"]
