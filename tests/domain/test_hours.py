from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from holidays import HolidayBase

from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrganizationConfig

MADRID = ZoneInfo("Europe/Madrid")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def test_holidays_of_the_region(calendar: BusinessCalendar) -> None:
    assert calendar.is_holiday(date(2026, 5, 2))  # Fiesta de la Comunidad de Madrid (a Saturday)
    assert calendar.is_holiday(date(2026, 4, 2))  # Jueves Santo, a weekday holiday in Madrid
    assert calendar.is_holiday(date(2026, 12, 25))
    assert not calendar.is_holiday(date(2026, 5, 4))


def test_holidays_work_for_any_year(calendar: BusinessCalendar) -> None:
    assert calendar.is_holiday(date(2031, 1, 1))
    assert calendar.is_holiday(date(2040, 12, 25))


def test_open_on_weekdays_within_spans(calendar: BusinessCalendar) -> None:
    assert calendar.is_open(local(2026, 5, 5, 9, 0))  # Tuesday, opening instant
    assert calendar.is_open(local(2026, 5, 5, 13, 59))
    assert not calendar.is_open(local(2026, 5, 5, 8, 59))
    assert not calendar.is_open(local(2026, 5, 5, 19, 0))  # closing instant is closed


def test_lunch_gap_is_closed(calendar: BusinessCalendar) -> None:
    assert not calendar.is_open(local(2026, 5, 5, 14, 0))
    assert not calendar.is_open(local(2026, 5, 5, 15, 30))
    assert calendar.is_open(local(2026, 5, 5, 16, 0))


def test_weekend_hours(calendar: BusinessCalendar) -> None:
    assert calendar.is_open(local(2026, 5, 9, 11, 0))  # Saturday morning
    assert not calendar.is_open(local(2026, 5, 9, 16, 30))  # Saturday afternoon
    assert not calendar.is_open(local(2026, 5, 10, 11, 0))  # Sunday


def test_closed_on_holidays(calendar: BusinessCalendar) -> None:
    assert not calendar.is_open(local(2026, 5, 2, 11, 0))  # a Saturday that is a holiday
    assert not calendar.is_open(local(2026, 4, 2, 10, 0))  # a Thursday that is a holiday


def test_any_zone_is_accepted(calendar: BusinessCalendar) -> None:
    assert calendar.is_open(datetime(2026, 5, 5, 7, 30, tzinfo=UTC))  # 09:30 in Madrid (CEST)
    assert not calendar.is_open(datetime(2026, 1, 13, 7, 30, tzinfo=UTC))  # 08:30 in Madrid (CET)


def test_naive_datetimes_are_refused(calendar: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        calendar.is_open(datetime(2026, 5, 5, 10, 0))


def test_dst_keeps_wall_clock_hours(calendar: BusinessCalendar) -> None:
    # Clocks go forward on Sunday 2026-03-29: 09:00 is 08:00 UTC on Friday, 07:00 UTC on Monday.
    assert calendar.is_open(datetime(2026, 3, 27, 8, 0, tzinfo=UTC))
    assert not calendar.is_open(datetime(2026, 3, 30, 6, 30, tzinfo=UTC))
    assert calendar.is_open(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))
    assert calendar.next_opening(datetime(2026, 3, 27, 18, 30, tzinfo=UTC)) == datetime(
        2026, 3, 28, 9, 0, tzinfo=UTC
    )


def test_add_business_time_within_a_span(calendar: BusinessCalendar) -> None:
    result = calendar.add_business_time(local(2026, 5, 5, 10, 0), timedelta(minutes=30))
    assert result == local(2026, 5, 5, 10, 30)
    assert result.tzinfo == UTC


def test_add_business_time_skips_lunch(calendar: BusinessCalendar) -> None:
    result = calendar.add_business_time(local(2026, 5, 5, 13, 30), timedelta(hours=1))
    assert result == local(2026, 5, 5, 16, 30)


def test_add_business_time_across_a_night(calendar: BusinessCalendar) -> None:
    result = calendar.add_business_time(local(2026, 5, 5, 18, 30), timedelta(hours=1))
    assert result == local(2026, 5, 6, 9, 30)


def test_add_business_time_across_a_weekend(calendar: BusinessCalendar) -> None:
    # Friday 18:00 + 2h: one hour on Friday, then Saturday 10:00-11:00.
    assert calendar.add_business_time(local(2026, 5, 8, 18, 0), timedelta(hours=2)) == local(
        2026, 5, 9, 11, 0
    )
    # Saturday 12:30 + 1h: half an hour on Saturday, Sunday closed, Monday 09:00-09:30.
    assert calendar.add_business_time(local(2026, 5, 9, 12, 30), timedelta(hours=1)) == local(
        2026, 5, 11, 9, 30
    )


def test_add_business_time_skips_holidays(calendar: BusinessCalendar) -> None:
    # Thursday 30 April 18:30 + 1h: Friday 1 May and Saturday 2 May are holidays.
    result = calendar.add_business_time(local(2026, 4, 30, 18, 30), timedelta(hours=1))
    assert result == local(2026, 5, 4, 9, 30)


def test_add_business_time_across_dst(calendar: BusinessCalendar) -> None:
    # Saturday 12:00 CET + 2h: one hour on Saturday, then Monday 09:00-10:00 CEST.
    result = calendar.add_business_time(local(2026, 3, 28, 12, 0), timedelta(hours=2))
    assert result == local(2026, 3, 30, 10, 0)
    assert result == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_add_business_time_from_a_closed_time_starts_at_opening(calendar: BusinessCalendar) -> None:
    result = calendar.add_business_time(local(2026, 5, 5, 7, 0), timedelta(minutes=2))
    assert result == local(2026, 5, 5, 9, 2)


def test_next_opening(calendar: BusinessCalendar) -> None:
    assert calendar.next_opening(local(2026, 5, 5, 10, 0)) == local(2026, 5, 5, 10, 0)
    assert calendar.next_opening(local(2026, 5, 5, 14, 30)) == local(2026, 5, 5, 16, 0)
    assert calendar.next_opening(local(2026, 5, 1, 10, 0)) == local(2026, 5, 4, 9, 0)


def test_no_business_hours_means_always_open() -> None:
    calendar = BusinessCalendar.from_config(OrganizationConfig(name="24h"))
    at = local(2026, 12, 25, 3, 0)
    assert calendar.always_open
    assert calendar.is_open(at)
    assert calendar.add_business_time(at, timedelta(hours=5)) == at + timedelta(hours=5)
    assert calendar.next_opening(at) == at


def test_a_calendar_that_never_opens_terminates() -> None:
    closed = BusinessCalendar(zone=MADRID, week={0: [(time(9), time(10))]}, public_holidays=EveryDay())
    start = local(2026, 5, 5, 12, 0)
    assert not closed.is_open(local(2026, 5, 4, 9, 30))
    assert closed.add_business_time(start, timedelta(hours=1)) == start + timedelta(hours=1)
    assert closed.next_opening(start) is None


def test_an_hour_a_day() -> None:
    daily = BusinessCalendar(zone=MADRID, week={d: [(time(9), time(10))] for d in range(7)})
    assert daily.add_business_time(local(2026, 5, 5, 12, 0), timedelta(hours=2)) == local(2026, 5, 7, 10, 0)


def test_whole_day_span_and_overlaps() -> None:
    org = OrganizationConfig(name="x", business_hours={"mon": ["00:00-24:00"], "mon,tue": ["08:00-12:00"]})
    calendar = BusinessCalendar.from_config(org)
    assert calendar.is_open(local(2026, 5, 4, 23, 59))
    assert calendar.add_business_time(local(2026, 5, 4, 23, 0), timedelta(hours=2)) == local(2026, 5, 5, 9, 0)


def test_unknown_holiday_country_is_a_value_error() -> None:
    org = OrganizationConfig.model_validate({"name": "x", "holidays": {"country": "XX"}})
    with pytest.raises(ValueError):
        BusinessCalendar.from_config(org)


def test_subdivision_case_does_not_matter() -> None:
    org = OrganizationConfig.model_validate({"name": "x", "holidays": {"country": "es", "subdivision": "md"}})
    assert BusinessCalendar.from_config(org).is_holiday(date(2026, 5, 2))


class EveryDay(HolidayBase):
    def __contains__(self, key: object) -> bool:
        return True
