"""The shared vocabulary: slash commands and the button-action codec that old buttons in chats rely on."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.vocabulary import (
    BackAction,
    ChoiceAction,
    EndAction,
    FeedbackAction,
    LanguageAction,
    MenuAction,
    NationAction,
    NextAction,
    Slash,
    decode_action,
    encode_action,
    parse_slash,
)

# The grammar buttons were sent with before the codec existed: every string it took must still decode.
WIRE_GRAMMAR = re.compile(
    r"c:\d{1,3}|next|menu|back|end|lang:[A-Za-z_]{2,12}|nation:(?:\d|skip)|fb:[a-z]{2,8}", re.ASCII
)


def test_every_action_travels_as_the_string_old_buttons_carry() -> None:
    wire = {
        ChoiceAction(3): "c:3",
        NextAction(): "next",
        MenuAction(): "menu",
        BackAction(): "back",
        EndAction(): "end",
        LanguageAction("zh_Hans"): "lang:zh_Hans",
        NationAction(0): "nation:0",
        NationAction(None): "nation:skip",
        FeedbackAction("missing"): "fb:missing",
    }
    for action, text in wire.items():
        assert encode_action(action) == text
        assert decode_action(text) == action


def test_forged_or_foreign_actions_decode_to_nothing() -> None:
    for text in (
        "",
        "c:",
        "c:1234",
        "c:²",
        "c:-1",
        "drop table",
        "lang:x",
        "lang:ro-RO",
        "nation:10",
        "nation:",
        "fb:YES",
        "fb:y",
        "next\n",
        "menu:1",
        "v1:abc:c:0",
    ):
        assert decode_action(text) is None, text


@given(st.one_of(st.text(max_size=16), st.from_regex(WIRE_GRAMMAR, fullmatch=True)))
def test_the_codec_takes_exactly_the_old_wire_grammar(text: str) -> None:
    action = decode_action(text)
    assert (action is not None) == bool(WIRE_GRAMMAR.fullmatch(text))
    if action is not None:
        assert decode_action(encode_action(action)) == action


def test_a_slash_command_is_its_name_argument_and_addressee() -> None:
    assert parse_slash("  /Stats@SignpostBot 30 ") == Slash("stats", "30", "SignpostBot")
    assert parse_slash("/alias  Sam  Lee") == Slash("alias", "Sam  Lee")
    assert parse_slash("/start") == Slash("start")


def test_text_that_is_not_a_command_parses_to_nothing() -> None:
    for text in ("", "/", "hello /start", "! internal note"):
        assert parse_slash(text) is None, text
