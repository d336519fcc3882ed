"""What the bot asks of its storage, shaped by the work rather than by SQL; one backend per module.

A user's turn reads once (`load_turn`: their state and their open case together) and writes once
(`write_turn`: state, counters and a touch of their case, all or nothing); the reply is sent only after
that write returns, so what the user saw is stored. A message relayed to staff instead is one write too
(`add_relay`, which notes the case's activity with it). Case changes are targeted (each names what it
changes and says whether the case was still there), never a whole row written back. Every method may
run concurrently with any other from other users' turns; a backend keeps each one atomic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date

from bot.engine import State
from bot.errors import BotError
from bot.handoff.cases import Case

DAILY_DAYS = 90  # daily counters older than this are added into their month, then deleted

CounterRow = tuple[int, str, str, int]  # (day or month, kind, name, count)


def month_of(day: int) -> int:
    """A day ordinal's month as one number (year * 12 + month - 1), the key of the monthly counters."""
    moment = date.fromordinal(day)
    return moment.year * 12 + moment.month - 1


def month_start(month: int) -> date:
    """The first day of a month numbered as `month_of` numbers them."""
    return date(month // 12, month % 12 + 1, 1)


class StoreError(BotError):
    """The database cannot be opened or created; the message names where and the reason."""


# The cases table's columns, in the order of Case's fields: every backend reads and writes a case by them.
CASE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Case))


@dataclass(frozen=True, slots=True)
class Turn:
    """What one user's turn starts from: their saved state (None if new) and their open case (None if none)."""

    state: State | None
    case: Case | None


@dataclass(frozen=True, slots=True)
class TurnWrite:
    """What one user's turn leaves behind, stored as one atomic unit.

    `state` None deletes the session (the user asked to be forgotten). `touch` is (case alias, minute):
    a message in the user's open case, noted only if the case is still open.
    """

    key: bytes
    state: State | None
    events: tuple[tuple[str, str], ...] = ()
    day: int = 0
    touch: tuple[str, int] | None = None


class Store(ABC):
    """Sessions, anonymous counters, handoff cases, waiting relays and closed topics."""

    # -- one user's turn ------------------------------------------------------------------------

    @abstractmethod
    async def load_turn(self, key: bytes) -> Turn:
        """The user's state and open case, read together."""

    @abstractmethod
    async def write_turn(self, write: TurnWrite) -> None:
        """Store a turn's state, counters and case touch atomically; returns once it is durable."""

    async def load(self, key: bytes) -> State | None:
        """The saved state for a user key, or None."""
        return (await self.load_turn(key)).state

    async def record(self, key: bytes, state: State | None, events: Iterable[tuple[str, str]], day: int) -> None:
        """Save the state (or delete it when None) and count the events for `day`, as one unit."""
        await self.write_turn(TurnWrite(key, state, tuple(events), day))

    async def delete(self, key: bytes) -> None:
        """Delete a user's session (and any block on them: a forgotten person leaves nothing behind)."""
        await self.write_turn(TurnWrite(key, None))

    # -- counters and retention -----------------------------------------------------------------

    @abstractmethod
    async def count(self, day: int, events: Iterable[tuple[str, str]]) -> None:
        """Add events that belong to no session (claims, waiting times) to the daily counters."""

    @abstractmethod
    async def counters(self, first_day: int, last_day: int) -> list[CounterRow]:
        """Daily counters between two days (inclusive), ordered by day, kind, name."""

    @abstractmethod
    async def monthly_counters(self, first_month: int, last_month: int) -> list[CounterRow]:
        """Rolled-up counters between two months (inclusive, numbered as `month_of`), ordered by month, kind, name."""

    @abstractmethod
    async def roll_up_counters(self, before_day: int) -> int:
        """Add daily counters of days before `before_day` into their months and delete them; returns the rows."""

    @abstractmethod
    async def purge(self, today: int, retention_days: int) -> int:
        """Delete sessions idle for more than `retention_days` (other turns go on meanwhile), blocks whose
        last day is before `today`, and roll old daily counters up into months; returns how many sessions went."""

    @abstractmethod
    async def session_count(self) -> int:
        """How many sessions are stored."""

    # -- the secret this database belongs to ----------------------------------------------------

    @abstractmethod
    async def secret_check(self) -> bytes | None:
        """The keyed check value of the secret this database was used with, if one was recorded."""

    @abstractmethod
    async def set_secret_check(self, value: bytes) -> None:
        """Record the check value of the secret now in use."""

    @abstractmethod
    async def holds_people(self) -> bool:
        """Whether any session or open case is stored (they are tied to the secret they were made with)."""

    @abstractmethod
    async def start_over(self, check: bytes) -> None:
        """Delete every session, case and relay (unreachable under a new secret) and record the new check."""

    # -- handoff cases ----------------------------------------------------------------------------

    @abstractmethod
    async def insert_case(self, case: Case) -> bool:
        """Add a new case; False (nothing stored) when its alias is taken or its user already has one."""

    @abstractmethod
    async def claim_case(self, alias: str, now: int, staff_alias: str) -> bool:
        """Claim an unclaimed case; False when it is gone or someone claimed it first (even at the same moment)."""

    @abstractmethod
    async def set_staff_alias(self, alias: str, staff_alias: str) -> bool:
        """The name the user sees for staff in this case."""

    @abstractmethod
    async def touch_case(self, alias: str, now: int) -> bool:
        """Note a message either way in this case."""

    @abstractmethod
    async def mark_nudged(self, alias: str) -> bool:
        """Mark the waiting message as sent; False if it already was (or the case is gone)."""

    @abstractmethod
    async def set_case_thread(self, alias: str, thread_id: int) -> bool:
        """The staff topic of a case whose topic could only be opened later."""

    @abstractmethod
    async def case_for_user(self, key: bytes) -> Case | None:
        """The open case of a user, if any."""

    @abstractmethod
    async def case_for_thread(self, thread_id: int) -> Case | None:
        """The open case whose staff topic is `thread_id`, if any."""

    @abstractmethod
    async def case_by_alias(self, alias: str) -> Case | None:
        """The open case called `alias`, if any."""

    @abstractmethod
    async def open_cases(self) -> list[Case]:
        """Every open case, oldest first."""

    @abstractmethod
    async def remove_case(self, alias: str) -> bool:
        """Delete a case, its sealed chat link and its waiting relays; False when it was already gone."""

    # -- relays waiting to be sent, and closed topics -------------------------------------------

    @abstractmethod
    async def add_relay(self, alias: str, body: bytes, limit: int, active: int | None = None) -> int | None:
        """Queue a sealed relay behind the case's others; None when the case is gone or has `limit` waiting.

        `active` (a minute): the relay is a message in the case, noted as its latest activity in the same
        write, even when the queue is full (so a message relayed costs one write, not a touch and a relay).
        """

    @abstractmethod
    async def relays(self, alias: str) -> list[tuple[int, bytes]]:
        """A case's waiting relays, oldest first."""

    @abstractmethod
    async def relay_aliases(self) -> list[str]:
        """Cases with relays waiting (after a restart, their queues are drained again)."""

    @abstractmethod
    async def remove_relay(self, relay_id: int) -> None:
        """A relay was sent (or given up on)."""

    @abstractmethod
    async def add_closed_topic(self, thread_id: int, day: int, user_key: bytes) -> None:
        """Remember a closed topic (and whose) so it can be deleted with the retention or on /forget."""

    @abstractmethod
    async def topics_of(self, user_key: bytes) -> list[int]:
        """The closed topics of a user's earlier cases."""

    @abstractmethod
    async def expired_topics(self, before_day: int) -> list[int]:
        """Closed topics closed before `before_day`."""

    @abstractmethod
    async def remove_closed_topic(self, thread_id: int) -> None:
        """The topic was deleted (or reopened for a new case)."""

    # -- blocks: a person staff stopped from opening cases for a while ----------------------------

    @abstractmethod
    async def block(self, user_key: bytes, alias: str, until_day: int) -> None:
        """Block a user (by pseudonymous key) from opening cases until `until_day` inclusive; `alias` is the
        random alias of the case it came from, for `/unblock`. A later block replaces an earlier one."""

    @abstractmethod
    async def blocked_until(self, user_key: bytes) -> int | None:
        """The last day of the user's block (possibly past, until purged), or None."""

    @abstractmethod
    async def unblock(self, alias: str) -> bool:
        """Lift the block made from case `alias`; False when there was none."""

    @abstractmethod
    async def blocked_count(self, today: int) -> int:
        """How many blocks are in force on `today` (a count only: staff never see who)."""

    # -- lifecycle --------------------------------------------------------------------------------

    @abstractmethod
    async def scrubbed(self) -> None:
        """Wait until everything deleted so far has left every file the backend writes."""

    @abstractmethod
    async def close(self) -> None:
        """Finish every write in flight and close."""
