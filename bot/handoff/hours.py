"""Staff opening hours: are staff in now, when are they next in, and how much staff time has passed.

A day is closed when it is one of the charity's own `closed` days or a bank holiday of the UK nation
set in settings (`bank_holidays`), taken from the `holidays` library so that substitute days (Monday
28 December 2026 for a Boxing Day on a Saturday) are right without a hand-kept list. The staff group
serves the whole UK from one office, so one nation's holidays apply to every user: the office's own.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from babel.dates import format_datetime

from bot.flows import Settings

SEARCH_DAYS = 60  # closures longer than this mean "no opening known"
NATIONS = ("ENG", "WLS", "SCT", "NIR")  # the `holidays` library's subdivisions of GB


@cache
def _bank_holidays(nation: str) -> holidays.HolidayBase:
    # The library fills in each year on first lookup, so one instance serves any date.
    return holidays.country_holidays("GB", subdiv=nation)


def is_closed_day(day: date, settings: Settings) -> bool:
    """A day staff are out whatever the weekday: the charity's own closures and the nation's bank holidays."""
    if day in settings.closed:
        return True
    return bool(settings.bank_holidays) and day in _bank_holidays(settings.bank_holidays)


def _local(now: datetime, settings: Settings) -> datetime:
    return now.astimezone(ZoneInfo(settings.time_zone))


def is_open(now: datetime, settings: Settings) -> bool:
    """True when `now` falls inside the staff hours of its local day and the day is not closed."""
    local = _local(now, settings)
    if is_closed_day(local.date(), settings):
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
        if is_closed_day(day, settings):
            continue
        for start, _end in settings.staff_hours.get(day.weekday(), ()):
            opening = datetime.combine(day, start, tzinfo=zone)
            if opening > local:
                return opening
    return None


def staff_minutes_between(start: datetime, end: datetime, settings: Settings) -> int:
    """Whole minutes of staff hours between two moments (wall minutes when no hours are set).

    Waiting and quiet spells are counted in this time, so a weekend or a bank holiday never runs a
    case out before anyone could have answered it.
    """
    if end <= start:
        return 0
    if not settings.staff_hours:
        return int((end - start).total_seconds() // 60)
    zone = ZoneInfo(settings.time_zone)
    first, last = _local(start, settings), _local(end, settings)
    total = 0.0
    day = first.date()
    while day <= last.date():
        if not is_closed_day(day, settings):
            for open_at, close_at in settings.staff_hours.get(day.weekday(), ()):
                lo = max(datetime.combine(day, open_at, tzinfo=zone), first)
                hi = min(datetime.combine(day, close_at, tzinfo=zone), last)
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total // 60)


def format_opening(opening: datetime, now: datetime, locale: str) -> str:
    """e.g. 'Monday 10:00' (or 'miercuri, 10:00' in Romanian); the date is added when over a week away."""
    days_away = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    pattern = "EEEE HH:mm" if days_away < 7 else "EEEE d MMMM HH:mm"
    return format_datetime(opening, pattern, locale=locale)
