"""The desk: where staff see cases (a topic per case), and what a messenger's refusals mean for a case."""

from __future__ import annotations

from typing import Protocol

# What Telegram's refusals mean for a case.
USER_GONE = "user_gone"  # the user blocked the bot or deleted the chat: treated as the user having left
TOPIC_GONE = "topic_gone"  # staff deleted the case's topic
REFUSED = "refused"  # anything else: reported with Telegram's reason
RETRY = "retry"  # flood control outlasted the rate limiter's own retries: the relay waits and tries again


class DeskError(Exception):
    """The messenger refused a call: `method` and `description` as it gave them, `kind` what it means."""

    def __init__(self, method: str, description: str, kind: str = REFUSED, retry_after: float = 0.0) -> None:
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        self.kind = kind
        self.retry_after = retry_after


class Desk(Protocol):
    """Where staff see cases: a topic per case, and the bot's notes. Refusals raise DeskError.

    Users are spoken to through a Messenger per transport; a desk that also reaches its own messenger's
    users by chat id (Telegram's, the console's) serves them when no other messenger is registered.
    """

    async def open_topic(self, title: str) -> int:
        """Open a topic for a case and return its id."""

    async def reopen_topic(self, thread_id: int) -> None:
        """Reopen a closed case topic (a user over their hourly openings gets their last one back)."""

    async def note(self, thread_id: int, text: str) -> None:
        """Post a bot note to staff in a case topic (or the group's main thread when 0)."""

    async def close_topic(self, thread_id: int) -> None:
        """Close a case topic."""

    async def delete_topic(self, thread_id: int) -> None:
        """Delete a case topic and everything in it."""
