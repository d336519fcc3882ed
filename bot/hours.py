"""Staff opening hours: are staff in now, and when are they next in (formatted for the user)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.flowspec import Settings

SEARCH_DAYS = 60  # closures longer than this mean "no opening known"


def _local(now: datetime, settings: Settings) -> datetime:
    return now.astimezone(ZoneInfo(settings.time_zone))


def is_open(now: datetime, settings: Settings) -> bool:
    """True when `now` falls inside the staff hours of its local day and the day is not closed."""
    local = _local(now, settings)
    if local.date() in settings.closed:
        return False
    moment = local.time()
    return any(start <= moment < end for start, end in settings.staff_hours.get(local.weekday(), ()))


def next_opening(now: datetime, settings: Settings) -> datetime | None:
    """The next moment staff are in, in local time (now itself if open), or None if none is set."""
    local = _local(now, settings)
    if is_open(now, settings):
        return local
    zone = ZoneInfo(settings.time_zone)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in settings.closed:
            continue
        for start, _end in settings.staff_hours.get(day.weekday(), ()):
            opening = datetime.combine(day, start, tzinfo=zone)
            if opening > local:
                return opening
    return None


def format_opening(opening: datetime, now: datetime, locale: str) -> str:
    """e.g. 'Monday 10:00' (or 'miercuri, 10:00' in Romanian); the date is added when over a week away."""
    days_away = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    pattern = "EEEE HH:mm" if days_away < 7 else "EEEE d MMMM HH:mm"
    return format_datetime(opening, pattern, locale=locale)
