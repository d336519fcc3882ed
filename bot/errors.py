"""One family for the problems an operator can fix: a missing setting, a broken flow, an unreadable file.

Each says, in its message, what is wrong and what to do, in one line, so the command line prints it
without a traceback. Failures of the messengers themselves (a refused call, a lost connection) are
not in this family: the bot handles those as it runs.
"""

from __future__ import annotations


class BotError(Exception):
    """A problem the operator can fix; `str(error)` is the line they read."""

    @property
    def operator_message(self) -> str:
        """The message for the operator: what is wrong and, where known, how to fix it."""
        return str(self)
