"""The update a task is processing now, so the turn it writes can mark that update stepped in the same commit."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class InboxEntry:
    """One stored update being processed; `consumed` once its turn is stored (by this run or an earlier one),
    `replay` when an earlier run stored it and this one only replies."""

    transport: str
    update_id: int
    consumed: bool = False
    replay: bool = False
    relays: int = 0  # copies to or from staff this run has queued so far (or found queued by an earlier run)


# Set by a worker around `process_update`; PTB runs the handlers in that task (or in tasks copying its context).
CURRENT: ContextVar[InboxEntry | None] = ContextVar("bot_replicas_current", default=None)


class UpdateTaken(Exception):
    """The update was processed to the end elsewhere (this replica's lease ran out meanwhile): nothing is stored."""

    def __init__(self) -> None:
        super().__init__("the update was already processed")
