"""Staff-group commands that concern no single case: `/stats`, and the wording of staff notices."""

from __future__ import annotations

from datetime import date

from bot.conversation import Conversations
from bot.stats.render import render_text
from bot.stats.tally import MAX_DAYS, Stats, load
from bot.store.base import Store
from bot.wording import staff_text

DEFAULT_DAYS = 7


def parse_days(arg: str) -> int | None:
    """The `[days]` of `/stats [days]`: 7 when absent, None unless a whole number 1..MAX_DAYS."""
    arg = arg.strip()
    if not arg:
        return DEFAULT_DAYS
    # isdigit() alone accepts "²" and other digits int() refuses; only ASCII 0-9 make a number of days.
    if not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_DAYS:
        return None
    return int(arg)


async def load_stats(store: Store, today: date, days: int) -> Stats:
    """The counters of the last `days` days (today included), summed per day."""
    return await load(store, today, days)


async def stats_reply(conversations: Conversations, arg: str) -> str:
    """The answer to `/stats [days]` in the staff group."""
    flows = conversations.flows
    days = parse_days(arg)
    if days is None:
        return staff_text(flows, "staff_stats_usage", max=MAX_DAYS)
    stats = await load_stats(conversations.store, conversations.local_now().date(), days)
    return render_text(stats, lambda key, **values: staff_text(flows, key, **values), flows.settings.default_language)
