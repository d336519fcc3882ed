"""The staff side of a case: messages and commands in its topic, claiming it, and the /queue overview.

Staff messages are taken one at a time per topic. A `!` message is an internal note, a `/` message a
command (the staff tools in bot/handoff/stafftools.py among them), anything else a reply queued for the
user; the first reply claims the case under the staff member's alias.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.engine import Reply
from bot.handoff.cases import Case
from bot.handoff.relays import RelayItem
from bot.handoff.stafftools import CASE_TOOLS, GROUP_TOOLS, IsAdmin
from bot.keyedlock import KeyedLock
from bot.stats.tally import claim_events
from bot.vocabulary import Slash, parse_slash

if TYPE_CHECKING:
    from bot.handoff.service import Handoffs

log = logging.getLogger(__name__)

MAX_ALIAS = 32


def clean_alias(text: str) -> str:
    """A staff alias with invisible and direction-changing characters (zero-width, RTL marks) removed."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cs", "Zl", "Zp"))
    return " ".join(visible.split())


@dataclass
class StaffSide:
    """What staff do in a case topic; messages in one topic are handled one at a time."""

    handoffs: Handoffs
    _staff_locks: KeyedLock = field(default_factory=KeyedLock)

    async def staff_input(
        self, thread_id: int, text: str | None, relay: RelayItem | None, is_admin: IsAdmin | None = None
    ) -> None:
        """A staff message in a topic: a command, an internal `!` note, or a reply to queue for the user.

        `is_admin` asks whether the sender administers the staff group (some commands are theirs only).
        """
        handoffs = self.handoffs
        async with self._staff_locks.hold(thread_id):
            case = await handoffs.conversations.store.case_for_thread(thread_id)
            stripped = (text or "").strip()
            if stripped.startswith("!"):
                return  # an internal note: never relayed
            tool = stripped[1:].partition(" ")[0].split("@", 1)[0].lower() if stripped.startswith("/") else ""
            if tool in GROUP_TOOLS:
                # /unblock and /blocked need no open case: the case a block came from is closed.
                answer = await handoffs.tools.group_command(tool, stripped.partition(" ")[2].strip(), is_admin)
                await handoffs.staff_note(thread_id, answer)
                return
            if case is None:
                # A topic of a closed case, or not a case at all: say so once per message, so nothing is silent.
                await handoffs.staff_note(thread_id, handoffs.staff_say("staff_not_a_case"))
                return
            if stripped.startswith("/"):
                # A bare "/" is no command, but it is not meant for the user either: it gets "unknown command".
                slash = parse_slash(stripped) or Slash("")
                await self.staff_command(case, slash.name, slash.arg, is_admin)
                return
            if handoffs.address_of(case) is None:
                # The secret changed since the case opened: nobody can reach the user through it any more.
                log.warning("a case's chat link could not be opened; closing it")
                await handoffs.closing.close(case, "staff_link_lost", None)
                return
            now = handoffs.now_minutes()
            if relay is None:
                await handoffs.conversations.store.touch_case(case.alias, now)
            elif not await handoffs.queues.put(case.alias, relay, active=now):
                await handoffs.staff_note(thread_id, handoffs.staff_say("staff_queue_full"))

    async def claim(self, case: Case) -> Case | None:
        """Claim the case for staff; None when it was gone or already claimed (then nothing is said twice)."""
        handoffs = self.handoffs
        name = case.staff_alias or handoffs.say("staff_default_alias", case.locale)
        now = handoffs.now_minutes()
        if not await handoffs.conversations.store.claim_case(case.alias, now, name):
            return None
        # Only the day's aggregate keeps the wait, in a coarse bucket; the case itself is deleted on close.
        await handoffs.conversations.store.count(handoffs.today(), claim_events(now - case.opened))
        claimed = replace(case, claimed=now, staff_alias=name, active=now)
        address = handoffs.address_of(case)
        if address is not None:
            await handoffs.relaying.tell(
                claimed, address, Reply((handoffs.say("handoff_claimed", case.locale, name=name),))
            )
        if case.thread_id is not None:
            await handoffs.staff_note(case.thread_id, handoffs.staff_say("staff_claimed", name=name))
        return claimed

    async def staff_command(self, case: Case, name: str, arg: str, is_admin: IsAdmin | None = None) -> None:
        handoffs = self.handoffs
        thread = case.thread_id or 0
        if name in CASE_TOOLS:
            await handoffs.tools.case_command(case, name, arg, is_admin)
        elif name == "claim":
            if case.claimed is not None or await self.claim(case) is None:
                await handoffs.staff_note(thread, handoffs.staff_say("staff_already_claimed"))
        elif name == "alias":
            alias = clean_alias(arg)
            if not alias or len(alias) > MAX_ALIAS:
                await handoffs.staff_note(thread, handoffs.staff_say("staff_alias_invalid"))
                return
            if await handoffs.conversations.store.set_staff_alias(case.alias, alias):
                await handoffs.staff_note(thread, handoffs.staff_say("staff_alias_set", name=alias))
        elif name == "release":
            await handoffs.closing.close(case, "staff_released", "handoff_released")
        elif name == "close":
            await handoffs.closing.close(case, "staff_closed", "handoff_closed")
        else:
            await handoffs.staff_note(thread, handoffs.staff_say("staff_unknown_command"))

    async def queue(self) -> str:
        """The answer to /queue: open cases with their waiting times."""
        handoffs = self.handoffs
        cases = await handoffs.conversations.store.open_cases()
        if not cases:
            return handoffs.staff_say("staff_queue_empty")
        now = handoffs.now_minutes()
        lines = [handoffs.staff_say("staff_queue_header", count=len(cases))]
        for case in cases:
            if case.claimed is None:
                state = handoffs.staff_say("staff_state_waiting")
            else:
                state = handoffs.staff_say("staff_state_claimed", name=case.staff_alias or "")
            lines.append(
                handoffs.staff_say(
                    "staff_queue_line", alias=case.alias, language=case.locale, waiting=now - case.opened, state=state
                )
            )
        return "\n".join(lines)
