"""Staff trying a draft in their own private chat: who is trying is kept in memory only, by pseudonymous key."""

from __future__ import annotations

from dataclasses import replace

from bot.engine import Outcome
from bot.flows import FlowSet
from bot.wording import message_text


def with_banner(outcome: Outcome, draft: FlowSet) -> Outcome:
    """The outcome with the draft banner (flows/messages.yaml `draft_banner`, in the user's language) as
    the first line of each message part, so nobody mistakes the draft for the live flows."""
    locale = outcome.state.locale or draft.settings.default_language
    banner = message_text(draft, "draft_banner", locale)
    parts = tuple(f"{banner}\n{part}" for part in outcome.reply.parts) or (banner,)
    return replace(outcome, reply=replace(outcome.reply, parts=parts))
