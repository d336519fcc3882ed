"""The shipped content: reachable, exit only on request, short in every language, real services, crisis everywhere."""

from __future__ import annotations

from collections import deque
from datetime import datetime

import pytest

from bot.engine import Pick, Text, start_state, step
from bot.flows import FlowSet
from bot.flows.content import load_content
from bot.flows.textmatch import normalise
from tests.conftest import FLOWS, REPO

FLOWSET = load_content(FLOWS, REPO / "locales")
LANGUAGES = FLOWSET.settings.languages
NOW = datetime(2026, 11, 25, 12, 0)
MAX_MESSAGE = 600


def reachable(flows: FlowSet) -> set[str]:
    """Nodes a user can reach from the welcome by buttons, or by typing words (triggers)."""
    roots = [flows.settings.start, *(t.goto for t in flows.triggers if t.goto)]
    seen, queue = set(roots), deque(roots)
    while queue:
        node = flows.nodes[queue.popleft()]
        targets = [c.goto for c in node.choices if c.goto] + ([node.next] if node.next else [])
        for target in targets:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def test_offers_english_and_eight_more_languages() -> None:
    assert set(LANGUAGES) == {"en", "ro", "pt_BR", "es", "pl", "bg", "hu", "th", "zh_Hans"}


def test_every_node_is_reachable_from_the_welcome() -> None:
    assert set(FLOWSET.nodes) - reachable(FLOWSET) == set()


def test_exit_support_is_only_entered_by_a_users_own_choice_or_words() -> None:
    on_request = {n.id for n in FLOWSET.nodes.values() if n.on_request or FLOWSET.flows[n.flow].on_request}
    assert on_request, "the exit flow should exist"
    first_menus = {FLOWSET.settings.start, FLOWSET.settings.menu}
    for node in FLOWSET.nodes.values():
        assert node.next not in on_request, f"{node.id} moves on into exit support by itself"
        if node.id in first_menus:
            assert not {c.goto for c in node.choices} & on_request, f"{node.id} offers exit support unasked"
    assert FLOWSET.settings.start not in on_request and FLOWSET.settings.menu not in on_request


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_is_over_600_characters(language: str) -> None:
    texts = [part for node in FLOWSET.nodes.values() for part in node.say] + list(FLOWSET.messages.values())
    too_long = [t[:40] for t in texts if len(FLOWSET.texts.get(language, t)) > MAX_MESSAGE]
    assert too_long == []


def test_every_service_used_exists_with_a_source_and_a_checked_date() -> None:
    used = {sid for node in FLOWSET.nodes.values() for sid in node.services} | set(FLOWSET.settings.waiting_services)
    assert used <= set(FLOWSET.services)
    for service in FLOWSET.services.values():
        assert service.source and service.source.startswith("https://"), service.id
        assert service.checked is not None, service.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_crisis_word_of_every_language_finds_the_crisis_page(language: str) -> None:
    (crisis,) = [t for t in FLOWSET.triggers if t.id == "crisis"]
    words = crisis.keywords.get(language, ())
    assert words, f"no crisis words in {language}"
    for word in words:
        found = FLOWSET.trigger_index.first_match(language, normalise(f"please {word} now"))
        assert found is crisis, (language, word)


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != FLOWSET.settings.default_language])
def test_a_walk_in_each_language_is_in_that_language(language: str) -> None:
    english = {part for node in FLOWSET.nodes.values() for part in node.say}
    english |= {c.label for node in FLOWSET.nodes.values() for c in node.choices} | set(FLOWSET.messages.values())
    state = start_state(FLOWSET, language)
    outcome = step(FLOWSET, state, Text("hello"), NOW)
    shown = list(outcome.reply.parts) + [b.label for b in outcome.reply.buttons]
    menu = FLOWSET.nodes[FLOWSET.settings.start]
    for index, choice in enumerate(menu.choices):
        if not choice.goto:
            continue
        page = step(FLOWSET, outcome.state, Pick(menu.id, f"c:{index}"), NOW)
        shown += list(page.reply.parts) + [b.label for b in page.reply.buttons]
        shown += [card.about for card in page.reply.services]
    untranslated = [text for text in shown if text in english and any(ch.isalpha() for ch in text)]
    assert untranslated == []


def test_every_page_offers_a_person_and_a_way_back() -> None:
    for node in FLOWSET.nodes.values():
        actions = {c.do for c in node.choices}
        targets = {c.goto for c in node.choices} | {node.next}
        assert "handoff" in actions, f"{node.id} has no way to a person"
        if node.id not in (FLOWSET.settings.start, FLOWSET.settings.menu):
            assert targets - {None}, f"{node.id} has no way on or back"


@pytest.mark.parametrize("language", LANGUAGES)
def test_crisis_page_is_short_in_every_language_cards_included(language: str) -> None:
    from bot.flows.lint import MAX_MESSAGE_CHARS, card_chars

    crisis = FLOWSET.nodes["crisis.start"]
    text = FLOWSET.texts.get(language, crisis.say[0])
    assert len(text) <= MAX_MESSAGE_CHARS
    # Every card shown (nation unknown, each labelled): still one screen.
    assert card_chars(FLOWSET, crisis, language) <= MAX_MESSAGE_CHARS
    assert text.startswith("{staff}\n")  # the person (or the honest "back at …") comes first
    assert "999" in text.split("\n")[1] and "55" in text.split("\n")[1]
    assert crisis.services[0] == "emergency_999" and crisis.choices[0].do == "handoff"
    assert "A&E" in text  # physical injury belongs on it


def test_privacy_page_says_what_is_kept_as_the_settings_do() -> None:
    text = " ".join(FLOWSET.nodes["main.privacy"].say)
    settings = FLOWSET.settings
    assert f"last {settings.back_depth} steps" in text and f"after {settings.retention_days} days" in text
    assert "copied into our team's private staff chat" in text and "30 days after the chat ends" in text
    assert "deleted when the chat ends" not in text


def test_every_offered_language_records_its_review_and_none_claims_one_not_done() -> None:
    reviewed = FLOWSET.settings.reviewed
    assert set(reviewed) == set(LANGUAGES) - {FLOWSET.settings.default_language}
    for review in reviewed.values():
        assert not review.done and "needs a peer reviewer" in review.note


def test_nhs_care_is_never_promised_free_for_everything() -> None:
    texts = [
        FLOWSET.texts.get(lang, part) for lang in LANGUAGES for node in FLOWSET.nodes.values() for part in node.say
    ]
    labels = [
        FLOWSET.texts.get(lang, c.label) for lang in LANGUAGES for node in FLOWSET.nodes.values() for c in node.choices
    ]
    assert not any("Free NHS care, whatever your status" in t for t in texts + labels)
    free = FLOWSET.nodes["testing.free"].say[0]
    assert "can be charged" in free and "Home Office" in free
