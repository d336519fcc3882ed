"""The targeted case changes and lookups, worded once for both backends; each backend runs the SQL.

Each change is one UPDATE that names the columns it changes and returns whether the case was still
there: a case closed or forgotten meanwhile is never written back.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from bot.handoff.cases import Case
from bot.store.base import Store


class CaseChanges(Store):
    """Claims, touches and lookups of one case, over a backend's `_update_case` and `_find_case`."""

    MARK: ClassVar[str]  # the backend's parameter mark
    NUDGE: ClassVar[tuple[str, str]]  # the assignment that marks a case nudged, and the condition it was not yet

    @abstractmethod
    async def _update_case(self, alias: str, assignments: str, values: tuple[object, ...], extra: str = "") -> bool:
        """`UPDATE cases SET assignments WHERE alias = … extra`; whether a row changed."""

    @abstractmethod
    async def _find_case(self, column: str, value: object) -> Case | None:
        """The open case whose `column` is `value`, if any."""

    async def claim_case(self, alias: str, now: int, staff_alias: str) -> bool:
        """Claim an unclaimed case; False when it is gone or someone claimed it first, on any replica."""
        mark = self.MARK
        return await self._update_case(
            alias,
            f"claimed = {mark}, active = {mark}, staff_alias = COALESCE(staff_alias, {mark})",
            (now, now, staff_alias),
            " AND claimed IS NULL",
        )

    async def set_staff_alias(self, alias: str, staff_alias: str) -> bool:
        """The name the user sees for staff in this case."""
        return await self._update_case(alias, f"staff_alias = {self.MARK}", (staff_alias,))

    async def touch_case(self, alias: str, now: int) -> bool:
        """Note a message either way in this case."""
        return await self._update_case(alias, f"active = {self.MARK}", (now,))

    async def mark_nudged(self, alias: str) -> bool:
        """Mark the waiting message as sent; False if it already was (or the case is gone)."""
        assignment, not_yet = self.NUDGE
        return await self._update_case(alias, assignment, (), f" AND {not_yet}")

    async def set_case_thread(self, alias: str, thread_id: int) -> bool:
        """The staff topic of a case whose topic could only be opened later."""
        return await self._update_case(alias, f"thread_id = {self.MARK}", (thread_id,))

    async def case_for_user(self, key: bytes) -> Case | None:
        """The open case of a user, if any."""
        return await self._find_case("user_key", key)

    async def case_for_thread(self, thread_id: int) -> Case | None:
        """The open case whose staff topic is `thread_id`, if any."""
        return await self._find_case("thread_id", thread_id)

    async def case_by_alias(self, alias: str) -> Case | None:
        """The open case called `alias`, if any."""
        return await self._find_case("alias", alias)
