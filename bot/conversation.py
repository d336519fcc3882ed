"""Runs the engine for one user at a time: load state, step, store state and counters, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.engine import Forget, Inbound, Outcome, Staff, State, start_state, step
from bot.flows import FlowSet
from bot.handoff.hours import format_opening, is_open, next_opening
from bot.i18n.catalog import negotiate
from bot.keyedlock import KeyedLock
from bot.privacy.keys import Keyring
from bot.publishing.trying import with_banner
from bot.store.base import Store, Turn, TurnWrite


def utc_now() -> datetime:
    """The wall clock, as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass
class Conversations:
    """The transport-agnostic front door: every inbound from every user goes through `handle`."""

    flows: FlowSet
    store: Store
    keyring: Keyring
    clock: Callable[[], datetime] = utc_now
    # Staff trying a draft in their own chat (bot/publishing): pseudonymous key -> the draft. In memory
    # only, so who is trying is never written anywhere and a restart ends every try.
    trying: dict[bytes, FlowSet] = field(default_factory=dict)
    _locks: KeyedLock = field(default_factory=KeyedLock)

    def local_now(self) -> datetime:
        """The current time in the charity's time zone (days and hours are counted there)."""
        return self.clock().astimezone(ZoneInfo(self.flows.settings.time_zone))

    @staticmethod
    def staff(flows: FlowSet, now: datetime, locale: str | None) -> Staff:
        """Whether a person can answer now, from the staff hours; unknown when none are set."""
        settings = flows.settings
        if not settings.staff_hours:
            return Staff()
        if is_open(now, settings):
            return Staff("in")
        opening = next_opening(now, settings)
        if opening is None:
            return Staff()
        return Staff("out", format_opening(opening, now, locale or settings.default_language))

    @asynccontextmanager
    async def user(self, transport: str, chat_id: int | str) -> AsyncIterator[bytes]:
        """Hold one user's lock and yield their pseudonymous key; their inputs are handled one at a time."""
        key = self.keyring.user_key(transport, chat_id)
        async with self._locks.hold(key):
            yield key

    async def step(
        self, key: bytes, inbound: Inbound, language_code: str | None = None, turn: Turn | None = None
    ) -> Outcome:
        """Load, step and store one user's state; call it while holding `user(...)`.

        `turn` is what the caller already read for this user under the same lock (one read per turn).
        """
        # One flow set for the whole step, even if a reload swaps it meanwhile.
        draft = self.trying.get(key)
        flows = draft or self.flows
        state = (turn if turn is not None else await self.store.load_turn(key)).state
        if state is None:
            settings = flows.settings
            state = start_state(flows, negotiate(language_code, settings.languages, settings.default_language))
        now = self.local_now()
        outcome = step(flows, state, inbound, now, self.staff(flows, now, state.locale))
        if draft is not None:
            outcome = with_banner(outcome, draft)
        forgotten = any(isinstance(effect, Forget) for effect in outcome.effects)
        await self.store.write_turn(
            TurnWrite(key, None if forgotten else outcome.state, outcome.events, outcome.state.day)
        )
        return outcome

    async def handle(
        self,
        transport: str,
        chat_id: int | str,
        inbound: Inbound,
        language_code: str | None = None,
        deliver: Callable[[Outcome], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Apply one inbound for one user; concurrent calls for the same user run one after another.

        `deliver` runs under the same per-user lock, so replies also leave in the order inputs came.
        """
        async with self.user(transport, chat_id) as key:
            outcome = await self.step(key, inbound, language_code)
            if deliver is not None:
                await deliver(outcome)
            return outcome

    async def place(self, key: bytes, node_id: str, touch: tuple[str, int] | None = None) -> State:
        """Move a user onto `node_id` (staff sent them that page), so its buttons answer from there; the page
        they were on goes on the way back. Call it while holding `user(...)`; returns the new state.

        `touch` (case alias, minute): the page is a message in the user's case, noted in the same write.
        """
        flows = self.flows
        settings = flows.settings
        state = (await self.store.load_turn(key)).state or start_state(flows, settings.default_language)
        back = state.back
        if state.node and state.node != node_id and state.node in flows.nodes:
            back = (*back, state.node)[-settings.back_depth :]
        day = self.local_now().date().toordinal()
        placed = replace(state, node=node_id, back=back, day=day, misses=0)
        await self.store.write_turn(TurnWrite(key, placed, (("node", node_id),), day, touch))
        return placed
