"""Staff hours in London time, closures, and the next opening in the user's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from types import MappingProxyType

from bot.flows import Settings
from bot.handoff.hours import format_opening, is_open, next_opening, staff_minutes_between

WEEKDAYS_10_TO_5 = MappingProxyType({d: ((time(10), time(17)),) for d in range(5)})
SETTINGS = Settings(staff_hours=WEEKDAYS_10_TO_5, closed=(date(2026, 12, 25),), bank_holidays="")  # own closures only


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_inside_hours_closed_outside() -> None:
    assert is_open(utc(2026, 11, 25, 12, 0), SETTINGS)  # Wednesday noon
    assert not is_open(utc(2026, 11, 25, 17, 0), SETTINGS)
    assert not is_open(utc(2026, 11, 28, 12, 0), SETTINGS)  # Saturday


def test_hours_are_london_time_across_summer_time() -> None:
    # 09:30 UTC in July is 10:30 in London (BST): open.
    assert is_open(utc(2026, 7, 1, 9, 30), SETTINGS)
    assert not is_open(utc(2026, 12, 2, 9, 30), SETTINGS)  # 09:30 GMT: not yet


def test_closed_dates_are_skipped() -> None:
    assert not is_open(utc(2026, 12, 25, 12), SETTINGS)
    opening = next_opening(utc(2026, 12, 24, 18), SETTINGS)
    assert opening is not None and opening.date() == date(2026, 12, 28)  # Fri 25 closed, then weekend


def test_next_opening_after_friday_evening_is_monday_morning() -> None:
    opening = next_opening(utc(2026, 11, 27, 18), SETTINGS)
    assert opening is not None and (opening.date(), opening.time()) == (date(2026, 11, 30), time(10))


def test_no_hours_means_no_opening() -> None:
    assert next_opening(utc(2026, 11, 25, 12), Settings()) is None


def test_next_opening_is_written_in_the_users_language() -> None:
    now = utc(2026, 11, 27, 18)
    opening = next_opening(now, SETTINGS)
    assert opening is not None
    assert format_opening(opening, now, "en") == "Monday 10:00"
    assert format_opening(opening, now, "ro") == "luni 10:00"
    assert format_opening(opening, now, "pl") == "poniedziałek 10:00"


ENGLAND = Settings(staff_hours=WEEKDAYS_10_TO_5, bank_holidays="ENG")


def test_boxing_day_on_a_saturday_moves_to_the_monday_from_the_holidays_library() -> None:
    # 26 December 2026 is a Saturday; the substitute bank holiday is Monday 28 December.
    assert not is_open(utc(2026, 12, 28, 12), ENGLAND)
    opening = next_opening(utc(2026, 12, 24, 18), ENGLAND)
    assert opening is not None and opening.date() == date(2026, 12, 29)


def test_each_nation_has_its_own_bank_holidays() -> None:
    scotland = Settings(staff_hours=WEEKDAYS_10_TO_5, bank_holidays="SCT")
    assert is_open(utc(2026, 8, 3, 12), ENGLAND) and not is_open(utc(2026, 8, 3, 12), scotland)  # Scotland's August
    assert not is_open(utc(2026, 8, 31, 11), ENGLAND) and is_open(utc(2026, 8, 31, 11), scotland)
    assert is_open(utc(2026, 12, 28, 12), Settings(staff_hours=WEEKDAYS_10_TO_5, bank_holidays=""))


def test_the_charitys_own_closed_days_add_to_bank_holidays() -> None:
    own = Settings(staff_hours=WEEKDAYS_10_TO_5, bank_holidays="ENG", closed=(date(2026, 12, 24),))
    assert not is_open(utc(2026, 12, 24, 12), own) and is_open(utc(2026, 12, 23, 12), own)


def test_staff_minutes_skip_nights_weekends_and_bank_holidays() -> None:
    friday_evening, tuesday_1030 = utc(2026, 8, 28, 18), utc(2026, 9, 1, 9, 30)  # Monday 31 August is a holiday
    assert staff_minutes_between(friday_evening, tuesday_1030, ENGLAND) == 30
    assert staff_minutes_between(utc(2026, 11, 25, 11), utc(2026, 11, 25, 13), ENGLAND) == 120
    assert staff_minutes_between(utc(2026, 11, 25, 13), utc(2026, 11, 25, 11), ENGLAND) == 0
    assert staff_minutes_between(utc(2026, 11, 28, 0), utc(2026, 11, 28, 2), Settings()) == 120  # no hours: wall time
