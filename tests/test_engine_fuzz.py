"""Property: from any reachable state, any input yields exactly one non-empty reply and never raises."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import Command, Inbound, Media, Pick, Reply, State, Text, start_state, step
from bot.flows.content import load_content
from bot.vocabulary import COMMANDS, PSEUDO_NODES
from tests.conftest import FLOWS, REPO

FLOWSET = load_content(FLOWS, REPO / "locales")
NOW = datetime(2026, 11, 25, 12, 0)
NODE_IDS = sorted(FLOWSET.nodes)

keywords = [w for t in FLOWSET.triggers for words in t.keywords.values() for w in words]
labels = [c.label for n in FLOWSET.nodes.values() for c in n.choices]
texts = st.one_of(
    st.text(max_size=200),
    st.sampled_from(keywords + labels),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(keywords), st.text(max_size=20)),
    st.integers(min_value=-3, max_value=12).map(str),
)
picks = st.builds(
    Pick,
    st.one_of(st.sampled_from([*NODE_IDS, *PSEUDO_NODES]), st.text(max_size=30)),
    st.one_of(
        st.sampled_from(["next", "menu", "back", "lang:en", "lang:zz"]),
        st.integers(min_value=-1, max_value=10).map(lambda i: f"c:{i}"),
        st.text(max_size=12),
    ),
)
commands = st.builds(Command, st.one_of(st.sampled_from(sorted(COMMANDS)), st.text(max_size=10)), st.text(max_size=10))
media = st.builds(
    Media, st.one_of(st.sampled_from(["photo", "voice", "location", "contact", "sticker"]), st.text(max_size=8))
)
inputs: st.SearchStrategy[Inbound] = st.one_of(texts.map(Text), picks, commands, media)


@st.composite
def reachable_states(draw: st.DrawFn) -> State:
    """Walk from a new user by pressing buttons the bot actually showed."""
    state = start_state(FLOWSET, draw(st.sampled_from(FLOWSET.settings.languages)))
    reply = step(FLOWSET, state, Command("start"), NOW)
    state = reply.state
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        buttons = reply.reply.buttons
        if not buttons:
            break
        button = draw(st.sampled_from(buttons))
        reply = step(FLOWSET, state, Pick(button.node, button.action), NOW)
        state = reply.state
    return state


def assert_one_reply(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert reply.parts and all(isinstance(p, str) and p.strip() for p in reply.parts)
    assert all(b.label.strip() for b in reply.buttons)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=reachable_states(), inbound=inputs)
def test_any_input_from_any_reachable_state_gives_exactly_one_reply(state: State, inbound: Inbound) -> None:
    outcome = step(FLOWSET, state, inbound, NOW)
    assert_one_reply(outcome.reply)
    node = outcome.state.node
    assert node is None or node in PSEUDO_NODES or node in FLOWSET.nodes
    assert len(outcome.state.back) <= FLOWSET.settings.back_depth
    # Every button offered must itself be a valid input.
    for button in outcome.reply.buttons:
        assert_one_reply(step(FLOWSET, outcome.state, Pick(button.node, button.action), NOW).reply)


@settings(max_examples=200, deadline=None)
@given(
    state=st.builds(
        State,
        st.one_of(st.none(), st.text(max_size=20)),
        st.one_of(st.none(), st.text(max_size=6)),
        st.lists(st.text(max_size=20), max_size=12).map(tuple),
    ),
    inbound=inputs,
)
def test_even_a_corrupt_saved_state_never_raises(state: State, inbound: Inbound) -> None:
    assert_one_reply(step(FLOWSET, state, inbound, NOW).reply)
