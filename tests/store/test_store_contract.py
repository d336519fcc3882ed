"""What every backend promises the bot: one suite, run against each backend in conftest.BACKENDS."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date

import pytest

from bot.engine import State
from bot.handoff.cases import Case
from bot.store import Store, Turn, TurnWrite
from bot.store.base import month_of
from tests.store.conftest import Backend
from tests.store.turns import many_users_take_turns

KEY = bytes(range(32))
OTHER = bytes(32)


def a_case(alias: str = "K7Q2", key: bytes = KEY, thread_id: int | None = 55, opened: int = 100) -> Case:
    return Case(
        alias,
        key,
        b"sealed",
        "ro",
        ("testing.menu", "testing.pep"),
        opened=opened,
        active=opened + 1,
        thread_id=thread_id,
    )


# -- a turn: one read, one atomic write ------------------------------------------------------------


async def test_a_new_user_has_no_state_and_no_case(store: Store) -> None:
    assert await store.load_turn(OTHER) == Turn(None, None)


async def test_a_turn_round_trips_its_state_with_the_back_stack_nation_and_misses(store: Store) -> None:
    state = State(
        node="testing.pep",
        locale="pt_BR",
        back=("main.welcome", "testing.menu", "@language"),
        day=739580,
        nation="wales",
        misses=1,
    )
    await store.write_turn(TurnWrite(KEY, state, (), state.day))
    assert await store.load_turn(KEY) == Turn(state, None)


async def test_a_state_not_yet_started_round_trips(store: Store) -> None:
    state = State(node=None, locale=None, back=(), day=5)
    await store.write_turn(TurnWrite(KEY, state, (), 5))
    assert (await store.load_turn(KEY)).state == state


async def test_a_later_turn_replaces_the_state(store: Store) -> None:
    await store.write_turn(TurnWrite(KEY, State(node="a.b", locale="en", back=("a.a",), day=1), (), 1))
    await store.write_turn(TurnWrite(KEY, State(node="c.d", locale="ro", day=2), (), 2))
    assert (await store.load_turn(KEY)).state == State(node="c.d", locale="ro", day=2)
    assert await store.session_count() == 1


async def test_one_read_brings_the_state_and_the_open_case_together(store: Store) -> None:
    state = State(node="main.menu", locale="ro", day=9)
    await store.write_turn(TurnWrite(KEY, state, (), 9))
    case = a_case()
    assert await store.insert_case(case)
    assert await store.load_turn(KEY) == Turn(state, case)
    assert await store.load_turn(OTHER) == Turn(None, None)


async def test_a_turn_writes_its_counters_and_touches_its_case_in_the_same_unit(store: Store) -> None:
    await store.insert_case(a_case())
    state = State(node="main.menu", locale="en", day=10)
    await store.write_turn(
        TurnWrite(KEY, state, (("node", "main.menu"), ("trigger", "crisis")), 10, touch=("K7Q2", 140))
    )
    turn = await store.load_turn(KEY)
    assert turn.state == state and turn.case is not None and turn.case.active == 140
    assert await store.counters(10, 10) == [(10, "node", "main.menu", 1), (10, "trigger", "crisis", 1)]


async def test_a_turns_touch_of_its_case_is_stored_with_its_state_or_not_at_all(store: Store) -> None:
    await store.insert_case(a_case())  # last active at minute 101
    before = State(node="a.b", locale="en", day=1)
    await store.write_turn(TurnWrite(KEY, before, (), 1))
    after = State(node="c.d", locale="en", day=2)
    with pytest.raises(Exception):  # noqa: B017 - a counter the database refuses: the touch goes too
        await store.write_turn(TurnWrite(KEY, after, (("node", None),), 2, touch=("K7Q2", 150)))  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - a touch the database refuses: the state and counters go too
        await store.write_turn(TurnWrite(KEY, after, (("node", "c.d"),), 2, touch=("K7Q2", None)))  # type: ignore[arg-type]
    turn = await store.load_turn(KEY)
    assert turn.state == before and turn.case is not None and turn.case.active == 101
    assert await store.counters(0, 10) == []
    await store.write_turn(TurnWrite(KEY, after, (("node", "c.d"),), 2, touch=("K7Q2", 160)))
    turn = await store.load_turn(KEY)
    assert turn.state == after and turn.case is not None and turn.case.active == 160
    assert await store.counters(0, 10) == [(2, "node", "c.d", 1)]


async def test_a_turn_that_fails_changes_nothing_and_the_store_goes_on(store: Store) -> None:
    await store.write_turn(TurnWrite(KEY, State(node="a.b", locale="en", day=1), (("node", "a.b"),), 1))
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own database error
        await store.write_turn(
            TurnWrite(KEY, State(node="c.d", locale="en", day=2), (("node", "c.d"), ("node", None)), 2)
        )  # type: ignore[arg-type]
    assert (await store.load_turn(KEY)).state == State(node="a.b", locale="en", day=1)
    assert await store.counters(0, 10) == [(1, "node", "a.b", 1)]
    await store.record(KEY, State(node="e.f", locale="en", day=3), [], 3)
    assert await store.load(KEY) == State(node="e.f", locale="en", day=3)


async def test_one_failing_turn_among_concurrent_ones_fails_alone(store: Store) -> None:
    good = [
        store.write_turn(TurnWrite(bytes([i + 1]) * 32, State(node="a.b", locale="en", day=1), (("node", "a.b"),), 1))
        for i in range(10)
    ]
    bad = store.write_turn(TurnWrite(KEY, State(node="a.b", locale="en", day=1), (("node", None),), 1))  # type: ignore[arg-type]
    results = await asyncio.gather(*good[:5], bad, *good[5:], return_exceptions=True)
    assert [isinstance(r, Exception) for r in results] == [False] * 5 + [True] + [False] * 5
    assert await store.session_count() == 10 and await store.load(KEY) is None
    assert await store.counters(1, 1) == [(1, "node", "a.b", 10)]


async def test_a_forgotten_session_is_gone_and_its_counters_kept(store: Store) -> None:
    await store.record(KEY, State(node="main.menu", locale="en", day=1), [], 1)
    await store.record(OTHER, State(node="main.menu", locale="en", day=1), [], 1)
    await store.write_turn(TurnWrite(KEY, None, (("forget", "done"),), 1))
    assert await store.load(KEY) is None and await store.session_count() == 1
    assert await store.counters(1, 1) == [(1, "forget", "done", 1)]
    await store.delete(KEY)  # deleting twice is fine
    await store.delete(OTHER)
    assert await store.session_count() == 0


# -- concurrency --------------------------------------------------------------------------------


async def test_concurrent_turns_of_many_users_all_land_in_each_users_order(store: Store) -> None:
    flight = await many_users_take_turns(store, users=40, turns=5)
    assert flight.most > 1, "the users' writes never overlapped, so this test proved nothing"


async def test_a_case_is_claimed_once_when_staff_race_for_it(store: Store) -> None:
    await store.insert_case(a_case(thread_id=None))
    names = [f"Staff{i}" for i in range(12)]
    won = await asyncio.gather(*(store.claim_case("K7Q2", 200 + i, name) for i, name in enumerate(names)))
    assert sum(won) == 1
    winner = names[won.index(True)]
    case = await store.case_by_alias("K7Q2")
    assert case is not None and case.staff_alias == winner and case.claimed == 200 + won.index(True)


async def test_two_users_racing_for_one_alias_get_one_case(store: Store) -> None:
    results = await asyncio.gather(store.insert_case(a_case(key=KEY)), store.insert_case(a_case(key=OTHER)))
    assert sorted(results) == [False, True]
    assert len(await store.open_cases()) == 1


# -- counters and retention ------------------------------------------------------------------------


async def test_counters_add_up_per_day_kind_and_name(store: Store) -> None:
    state = State(node="main.menu", locale="en", day=10)
    await store.record(KEY, state, [("node", "main.menu"), ("trigger", "crisis"), ("node", "main.menu")], 10)
    await store.record(OTHER, state, iter([("node", "main.menu")]), 10)
    await store.record(KEY, state, [("node", "main.menu")], 11)
    await store.count(12, [("claim", "under_5m")])
    assert await store.counters(10, 11) == [
        (10, "node", "main.menu", 3),
        (10, "trigger", "crisis", 1),
        (11, "node", "main.menu", 1),
    ]
    assert await store.counters(12, 12) == [(12, "claim", "under_5m", 1)]
    assert await store.counters(13, 20) == []


async def test_purge_removes_only_sessions_idle_past_retention_and_keeps_the_counters(store: Store) -> None:
    await store.record(KEY, State(node="a.b", locale="en", day=100), [("node", "a.b")], 100)
    await store.record(OTHER, State(node="a.b", locale="en", day=69), [("node", "a.b")], 69)
    edge = bytes([7]) * 32
    await store.record(edge, State(node="a.b", locale="en", day=70), [], 70)  # exactly 30 days idle: kept
    assert await store.purge(today=100, retention_days=30) == 1
    assert await store.load(KEY) is not None and await store.load(edge) is not None and await store.load(OTHER) is None
    assert await store.purge(today=100, retention_days=30) == 0
    assert await store.session_count() == 2
    assert await store.counters(0, 100) == [(69, "node", "a.b", 1), (100, "node", "a.b", 1)]


async def test_old_daily_counters_are_rolled_up_into_months_by_the_purge(store: Store) -> None:
    today = date(2026, 12, 3).toordinal()
    old_day, other_old_day = date(2026, 8, 14).toordinal(), date(2026, 8, 20).toordinal()
    recent = today - 10
    for day, events in (
        (old_day, [("language", "hu")]),
        (other_old_day, [("language", "hu"), ("node", "a.b")]),
        (recent, [("language", "hu")]),
    ):
        await store.count(day, events)
    await store.purge(today, retention_days=30)
    assert await store.counters(0, today) == [(recent, "language", "hu", 1)]
    august = month_of(old_day)
    assert await store.monthly_counters(august, august) == [(august, "language", "hu", 2), (august, "node", "a.b", 1)]
    await store.count(date(2026, 8, 30).toordinal(), [("language", "hu")])
    await store.purge(today, retention_days=30)  # a second roll-up adds to the month
    assert await store.monthly_counters(august, august) == [(august, "language", "hu", 3), (august, "node", "a.b", 1)]


# -- cases ------------------------------------------------------------------------------------


async def test_a_case_is_found_by_user_thread_and_alias(store: Store) -> None:
    case = a_case()
    assert await store.insert_case(case)
    assert await store.case_for_user(KEY) == case
    assert await store.case_for_thread(55) == case
    assert await store.case_by_alias("K7Q2") == case
    assert await store.case_for_user(OTHER) is None and await store.case_for_thread(56) is None
    assert await store.case_by_alias("ZZZZ") is None


async def test_a_user_with_an_open_case_cannot_open_a_second(store: Store) -> None:
    assert await store.insert_case(a_case("AAAA"))
    assert not await store.insert_case(a_case("BBBB"))
    assert [c.alias for c in await store.open_cases()] == ["AAAA"]


async def test_targeted_changes_touch_only_their_columns(store: Store) -> None:
    case = a_case(thread_id=None)
    await store.insert_case(case)
    assert await store.set_case_thread("K7Q2", 77)
    assert await store.claim_case("K7Q2", 103, "Sam")
    assert not await store.claim_case("K7Q2", 104, "Alex")  # claimed once only
    assert await store.set_staff_alias("K7Q2", "Robin")
    assert await store.touch_case("K7Q2", 110)
    assert await store.mark_nudged("K7Q2")
    assert not await store.mark_nudged("K7Q2")  # the waiting message goes once
    assert await store.case_by_alias("K7Q2") == replace(
        case, thread_id=77, claimed=103, active=110, staff_alias="Robin", nudged=True
    )


async def test_a_closed_case_is_never_written_back(store: Store) -> None:
    await store.insert_case(a_case())
    assert await store.add_relay("K7Q2", b"sealed relay", limit=5) is not None
    assert await store.remove_case("K7Q2")
    assert not await store.remove_case("K7Q2")
    for change in (
        store.claim_case("K7Q2", 1, "Sam"),
        store.touch_case("K7Q2", 2),
        store.set_staff_alias("K7Q2", "S"),
        store.mark_nudged("K7Q2"),
        store.set_case_thread("K7Q2", 3),
    ):
        assert not await change
    await store.write_turn(TurnWrite(KEY, State(node="a.b", locale="en", day=1), (), 1, touch=("K7Q2", 5)))
    assert await store.open_cases() == [] and await store.case_for_user(KEY) is None
    assert await store.relays("K7Q2") == [] and await store.relay_aliases() == []


async def test_open_cases_come_oldest_first(store: Store) -> None:
    await store.insert_case(a_case("BBBB", key=OTHER, thread_id=2, opened=50))
    await store.insert_case(a_case("AAAA", key=KEY, thread_id=1, opened=60))
    assert [c.alias for c in await store.open_cases()] == ["BBBB", "AAAA"]


# -- relays and closed topics ----------------------------------------------------------------------


async def test_a_relay_queued_as_a_message_notes_the_cases_activity_in_the_same_write(store: Store) -> None:
    assert await store.add_relay("K7Q2", b"x", limit=1, active=110) is None  # no case: nothing noted anywhere
    await store.insert_case(a_case())  # last active at minute 101
    assert await store.add_relay("K7Q2", b"a", limit=1, active=120) is not None
    assert (await store.case_by_alias("K7Q2")).active == 120  # type: ignore[union-attr]
    assert await store.add_relay("K7Q2", b"b", limit=1, active=130) is None  # full, but the user did write
    assert (await store.case_by_alias("K7Q2")).active == 130  # type: ignore[union-attr]
    assert await store.add_relay("K7Q2", b"c", limit=2) is not None  # a relay that is no message notes nothing
    assert (await store.case_by_alias("K7Q2")).active == 130  # type: ignore[union-attr]
    assert [body for _, body in await store.relays("K7Q2")] == [b"a", b"c"]


async def test_relays_queue_in_order_up_to_the_limit_and_only_for_an_open_case(store: Store) -> None:
    assert await store.add_relay("K7Q2", b"x", limit=5) is None  # no such case
    await store.insert_case(a_case())
    ids = [await store.add_relay("K7Q2", bytes([i]), limit=2) for i in range(3)]
    assert ids[0] is not None and ids[1] is not None and ids[2] is None
    assert await store.relays("K7Q2") == [(ids[0], b"\x00"), (ids[1], b"\x01")]
    assert await store.relay_aliases() == ["K7Q2"]
    await store.remove_relay(ids[0])
    assert await store.relays("K7Q2") == [(ids[1], b"\x01")]


async def test_closed_topics_are_kept_per_user_until_they_expire_or_go(store: Store) -> None:
    await store.add_closed_topic(10, day=100, user_key=KEY)
    await store.add_closed_topic(11, day=105, user_key=KEY)
    await store.add_closed_topic(12, day=101, user_key=OTHER)
    assert sorted(await store.topics_of(KEY)) == [10, 11]
    assert await store.expired_topics(before_day=102) == [10, 12]
    await store.remove_closed_topic(10)
    await store.add_closed_topic(11, day=120, user_key=KEY)  # reused for a later case: its day moves on
    assert await store.topics_of(KEY) == [11] and await store.expired_topics(before_day=110) == [12]


# -- the secret, and a restart -------------------------------------------------------------------


async def test_the_secret_check_value_is_kept_and_starting_over_forgets_people_not_counters(store: Store) -> None:
    assert await store.secret_check() is None and not await store.holds_people()
    await store.set_secret_check(b"1" * 32)
    await store.set_secret_check(b"2" * 32)
    assert await store.secret_check() == b"2" * 32
    await store.record(KEY, State(node="a.b", locale="en", day=1), [("node", "a.b")], 1)
    assert await store.holds_people()
    await store.insert_case(a_case(key=OTHER))
    await store.add_relay("K7Q2", b"r", limit=5)
    await store.start_over(b"3" * 32)
    assert not await store.holds_people() and await store.secret_check() == b"3" * 32
    assert await store.relay_aliases() == []
    assert await store.counters(1, 1) == [(1, "node", "a.b", 1)]  # the anonymous counters stay


async def test_everything_written_is_there_after_a_restart(backend: Backend) -> None:
    first = await backend.open()
    state = State(node="x.y", locale="en", back=("a.b",), day=3, nation="scotland")
    await first.write_turn(TurnWrite(KEY, state, (("node", "x.y"),), 3))
    await first.insert_case(a_case())
    await first.claim_case("K7Q2", 120, "Sam")
    await first.add_closed_topic(9, 3, OTHER)
    # Writes still in flight when close is called are committed, not dropped.
    pending = [first.write_turn(TurnWrite(bytes([i + 1]) * 32, state, (), 3)) for i in range(5)]
    await asyncio.gather(*pending, first.close())
    second = await backend.open()
    try:
        turn = await second.load_turn(KEY)
        assert turn.state == state and turn.case is not None and turn.case.staff_alias == "Sam"
        assert await second.counters(3, 3) == [(3, "node", "x.y", 1)]
        assert await second.topics_of(OTHER) == [9]
        assert await second.session_count() == 6
    finally:
        await second.close()


# -- blocks: by pseudonymous key, with their last day and the case alias ---------------------------


async def test_a_block_lasts_through_its_last_day_and_names_no_one(store: Store) -> None:
    assert await store.blocked_until(KEY) is None
    await store.block(KEY, "K7Q2", 740_010)
    assert await store.blocked_until(KEY) == 740_010
    assert await store.blocked_until(OTHER) is None
    assert await store.blocked_count(740_010) == 1
    assert await store.blocked_count(740_011) == 0  # ran out, though not yet purged


async def test_a_later_block_of_the_same_person_replaces_the_earlier(store: Store) -> None:
    await store.block(KEY, "K7Q2", 740_010)
    await store.block(KEY, "M3PX", 740_040)
    assert await store.blocked_until(KEY) == 740_040
    assert not await store.unblock("K7Q2")
    assert await store.blocked_count(740_000) == 1


async def test_unblock_by_alias_lifts_only_that_block(store: Store) -> None:
    await store.block(KEY, "K7Q2", 740_010)
    await store.block(OTHER, "M3PX", 740_010)
    assert await store.unblock("K7Q2")
    assert not await store.unblock("K7Q2")
    assert await store.blocked_until(KEY) is None
    assert await store.blocked_until(OTHER) == 740_010


async def test_purge_drops_blocks_that_ran_out_and_keeps_the_rest(store: Store) -> None:
    await store.block(KEY, "K7Q2", 740_009)
    await store.block(OTHER, "M3PX", 740_010)
    await store.purge(740_010, 30)
    assert await store.blocked_until(KEY) is None
    assert await store.blocked_until(OTHER) == 740_010


async def test_forgetting_a_person_drops_their_block(store: Store) -> None:
    await store.write_turn(TurnWrite(KEY, State(node="main.menu", locale="ro", day=740_000), (), 740_000))
    await store.block(KEY, "K7Q2", 740_030)
    await store.delete(KEY)
    assert await store.blocked_until(KEY) is None
    assert await store.blocked_count(740_000) == 0


async def test_starting_over_under_a_new_secret_drops_every_block(store: Store) -> None:
    await store.block(KEY, "K7Q2", 740_030)
    await store.start_over(b"new check")
    assert await store.blocked_until(KEY) is None
