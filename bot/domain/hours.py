"""When the organisation is open: weekly hours, public holidays and its time zone, DST included.

Opening spans are written in local wall time; each day's spans are converted to UTC on their own,
so a span keeps its wall-clock meaning on the days clocks change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from holidays import HolidayBase, country_holidays, list_supported_countries

from bot.domain.org import OrganizationConfig

WeeklyHours = dict[int, list[tuple[time, time]]]
Span = tuple[datetime, datetime]

SEARCH_DAYS = 366
"""How many days in a row without any opening end a search (no business hours for a year)."""


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    zone: ZoneInfo
    week: WeeklyHours = field(default_factory=dict)
    public_holidays: HolidayBase | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, org: OrganizationConfig) -> BusinessCalendar:
        """Raises:
        ValueError: when the holidays country or subdivision is not known to the holidays package.
        """
        return cls(zone=ZoneInfo(org.timezone), week=org.weekly_hours(), public_holidays=_holidays(org))

    @property
    def always_open(self) -> bool:
        """True when no business hours are configured at all."""
        return not any(self.week.values())

    def is_holiday(self, day: date) -> bool:
        return self.public_holidays is not None and day in self.public_holidays

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        moment = _utc(at)
        return any(start <= moment < end for start, end in self.open_spans(self._local_day(moment)))

    def open_spans(self, day: date) -> list[Span]:
        """The opening spans of a local calendar day, as UTC instants; none on holidays."""
        if self.is_holiday(day):
            return []
        spans = (self._utc_span(day, start, end) for start, end in _merged(self.week.get(day.weekday(), [])))
        return [span for span in spans if span[0] < span[1]]

    def add_business_time(self, start: datetime, delta: timedelta) -> datetime:
        """The UTC instant when ``delta`` of office time has elapsed counting from ``start``."""
        begin = _utc(start)
        if self.always_open or delta <= timedelta(0):
            return begin + delta
        remaining = delta
        for span_start, span_end in self._spans_from(begin):
            counted_from = max(span_start, begin)
            if remaining <= span_end - counted_from:
                return counted_from + remaining
            remaining -= span_end - counted_from
        return begin + delta

    def next_opening(self, at: datetime) -> datetime | None:
        """The first UTC instant from ``at`` on (``at`` itself when open); None if never open."""
        moment = _utc(at)
        if self.always_open:
            return moment
        span = next(self._spans_from(moment), None)
        return None if span is None else max(span[0], moment)

    def _spans_from(self, moment: datetime) -> Iterator[Span]:
        day, idle_days = self._local_day(moment), 0
        while idle_days <= SEARCH_DAYS:
            spans = [span for span in self.open_spans(day) if span[1] > moment]
            idle_days = 0 if spans else idle_days + 1
            yield from spans
            day += timedelta(days=1)

    def _utc_span(self, day: date, start: time, end: time) -> Span:
        end_day, end_time = (day + timedelta(days=1), time(0)) if end == time.max else (day, end)
        return (
            datetime.combine(day, start, self.zone).astimezone(UTC),
            datetime.combine(end_day, end_time, self.zone).astimezone(UTC),
        )

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def _holidays(org: OrganizationConfig) -> HolidayBase | None:
    if org.holidays is None:
        return None
    country = org.holidays.country.upper()
    try:
        return country_holidays(country, subdiv=_subdivision(country, org.holidays.subdivision))
    except NotImplementedError as exc:
        raise ValueError(str(exc)) from exc


def _subdivision(country: str, subdivision: str | None) -> str | None:
    """The package's own spelling of a subdivision written in any case ("md" → "MD")."""
    known = list_supported_countries().get(country, [])
    wanted = (subdivision or "").casefold()
    return next((code for code in known if code.casefold() == wanted), subdivision)


def _merged(spans: list[tuple[time, time]]) -> list[tuple[time, time]]:
    merged: list[tuple[time, time]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return at.astimezone(UTC)
