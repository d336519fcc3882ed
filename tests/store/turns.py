"""Many users taking turns at once, checked so that a lost or reordered write fails the check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.engine import State
from bot.store import Store, TurnWrite

DAY = 739_600


def user_key(user: int) -> bytes:
    return user.to_bytes(32, "big")


@dataclass
class InFlight:
    """How many writes were waiting at once: above 1, the writes really overlapped."""

    now: int = 0
    most: int = 0


async def take_turns(store: Store, user: int, turns: int, flight: InFlight) -> None:
    """One user's turns, one after another as the per-user lock runs them; each reads what the last wrote."""
    key = user_key(user)
    for turn in range(turns):
        before = (await store.load_turn(key)).state
        previous = None if turn == 0 else f"u{user}.t{turn - 1}"
        assert (before.node if before else None) == previous, f"user {user} turn {turn} read {before}"
        state = State(
            node=f"u{user}.t{turn}", locale="en", back=(before.node,) if before and before.node else (), day=DAY
        )
        flight.now += 1
        flight.most = max(flight.most, flight.now)
        try:
            await store.write_turn(TurnWrite(key, state, (("node", "turn"), ("user", str(user))), DAY))
        finally:
            flight.now -= 1


async def many_users_take_turns(store: Store, users: int = 40, turns: int = 5) -> InFlight:
    """All users at once; then every user's last turn is stored and every turn was counted once."""
    flight = InFlight()
    await asyncio.gather(*(take_turns(store, user, turns, flight) for user in range(users)))
    for user in range(users):
        state = (await store.load_turn(user_key(user))).state
        assert state is not None and state.node == f"u{user}.t{turns - 1}", f"user {user} ended at {state}"
    counted = {(kind, name): count for _, kind, name, count in await store.counters(DAY, DAY)}
    assert counted.get(("node", "turn")) == users * turns
    assert all(counted.get(("user", str(user))) == turns for user in range(users)), "a turn's counters went missing"
    assert await store.session_count() == users
    return flight
