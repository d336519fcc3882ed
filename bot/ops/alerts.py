"""Alerts for the staff group: trouble is told once when it starts and once when it is over, never per retry.

Three kinds: another copy of the bot using the same token (Telegram's Conflict), Telegram unreachable
for longer than a few minutes, and the database failing. An alert that can't be delivered (Telegram
being unreachable is the usual reason) waits in order and is retried; if the trouble is over before it
could be told, staff get one message saying how long it lasted. Each change is one log line.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

UNREACHABLE_AFTER = 300.0  # seconds without Telegram before staff are told ("a few minutes")
# PTB retries a failed getUpdates after at most 30 s; with no Conflict for three times that, the other copy stopped.
CONFLICT_QUIET = 90.0


class Trouble(enum.Enum):
    """What can go wrong that staff should know about."""

    CONFLICT = "conflict"
    UNREACHABLE = "unreachable"
    DATABASE = "database"


STARTED = {
    Trouble.CONFLICT: (
        "Another copy of this bot is running with the same token ({detail}), so each copy gets only "
        "some of the messages. Stop the other copy (an old server, a test on someone's laptop); this "
        "one keeps going and says here when it is alone again."
    ),
    Trouble.UNREACHABLE: (
        "The bot has not been able to reach Telegram for {minutes} ({detail}). People's messages "
        "wait at Telegram until it is back; it keeps trying."
    ),
    Trouble.DATABASE: (
        "The bot can't use its database ({detail}), so people's messages are failing. Check the "
        "server's disk space and the log (journalctl -u signpost-bot); it keeps trying."
    ),
}
RESOLVED = {
    Trouble.CONFLICT: "Resolved: no other copy of the bot has used the token for {quiet}; this one is alone again.",
    Trouble.UNREACHABLE: "Resolved: Telegram can be reached again, after {minutes}.",
    Trouble.DATABASE: "Resolved: the database works again, after {minutes}.",
}
# When the start could never be told (Telegram was unreachable the whole time), one message says both.
WHOLE = {
    Trouble.CONFLICT: (
        "Another copy of this bot ran with the same token for about {minutes} ({detail}); it has stopped."
    ),
    Trouble.UNREACHABLE: (
        "The bot could not reach Telegram for {minutes} ({detail}); it can again now. Messages "
        "sent meanwhile waited at Telegram and have been answered since."
    ),
    Trouble.DATABASE: "The bot could not use its database for {minutes} ({detail}); it works again now.",
}


def minutes(seconds: float) -> str:
    """`12 minutes`, `1 minute`, or `less than a minute`."""
    whole = int(seconds // 60)
    return "less than a minute" if whole < 1 else f"{whole} minute{'s' if whole != 1 else ''}"


@dataclass
class _State:
    since: float | None = None  # when this trouble was first seen, None when there is none
    last_seen: float = 0.0
    detail: str = ""
    announced: bool = False  # its start is queued (or told)
    told: bool = False  # its start reached the staff group


@dataclass
class Alerts:
    """Decides what to tell staff; `notify` posts into the staff group's main thread."""

    notify: Callable[[str], Awaitable[None]]
    clock: Callable[[], float] = time.monotonic
    unreachable_after: float = UNREACHABLE_AFTER
    conflict_quiet: float = CONFLICT_QUIET
    states: dict[Trouble, _State] = field(default_factory=lambda: {kind: _State() for kind in Trouble})
    outbox: list[tuple[Trouble, str, bool]] = field(default_factory=list)  # (kind, text, is the start)

    def seen(self, kind: Trouble, detail: str) -> None:
        """The trouble is happening now (`detail`: the error's kind, never ids or text)."""
        state, now = self.states[kind], self.clock()
        if state.since is None:
            state.since = now
            log.warning("%s: %s", kind.value, detail)
        state.last_seen, state.detail = now, detail

    def cleared(self, kind: Trouble) -> None:
        """A check showed the trouble is not happening (the database answered, Telegram answered)."""
        state = self.states[kind]
        if state.since is not None:
            self._end(kind, state)

    def active(self, kind: Trouble) -> bool:
        """Whether the trouble is happening, as far as the checks so far show."""
        state = self.states[kind]
        if state.since is None:
            return False
        return kind is not Trouble.CONFLICT or self.clock() - state.last_seen < self.conflict_quiet

    async def tell(self) -> None:
        """Queue what has become due, then deliver the queue in order; what fails is retried next time."""
        now = self.clock()
        for kind, state in self.states.items():
            if state.since is None:
                continue
            if kind is Trouble.CONFLICT and not self.active(kind):
                self._end(kind, state)
                continue
            threshold = self.unreachable_after if kind is Trouble.UNREACHABLE else 0.0
            if not state.announced and now - state.since >= threshold:
                state.announced = True
                log.error("%s for %s: telling the staff group", kind.value, minutes(now - state.since))
                self.outbox.append(
                    (kind, STARTED[kind].format(detail=state.detail, minutes=minutes(now - state.since)), True)
                )
        while self.outbox:
            kind, text, is_start = self.outbox[0]
            try:
                await self.notify(text)
            except Exception as exc:
                log.debug("alert not delivered yet: %s", type(exc).__name__)
                return
            self.outbox.pop(0)
            if is_start:
                self.states[kind].told = True

    def _end(self, kind: Trouble, state: _State) -> None:
        assert state.since is not None
        lasted = (state.last_seen if kind is Trouble.CONFLICT else self.clock()) - state.since
        if state.announced:
            log.warning("%s resolved after %s", kind.value, minutes(lasted))
        else:
            log.info("%s passed after %s", kind.value, minutes(lasted))
        queued = [i for i, (k, _, is_start) in enumerate(self.outbox) if k is kind and is_start]
        if queued:
            # Its start was never delivered: one message tells the whole of it instead.
            self.outbox[queued[0]] = (kind, WHOLE[kind].format(detail=state.detail, minutes=minutes(lasted)), False)
        elif state.told:
            self.outbox.append(
                (kind, RESOLVED[kind].format(minutes=minutes(lasted), quiet=minutes(self.conflict_quiet)), False)
            )
        self.states[kind] = _State()
