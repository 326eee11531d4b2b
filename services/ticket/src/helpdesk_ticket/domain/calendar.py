"""Business time: working hours, French public holidays and on-call periods that count.

SLA targets are counted in business time, so a ticket opened on Friday evening is not late on
Saturday morning, and an on-call period (astreinte) counts as working time while it lasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

Interval = tuple[datetime, datetime]

_OFFICE_DAY = ((time(8, 0), time(18, 0)),)
DEFAULT_HOURS: dict[int, tuple[tuple[time, time], ...]] = dict.fromkeys(range(5), _OFFICE_DAY)
#: A bound on searches forward, so a calendar with no working time at all fails instead of looping.
_MAX_DAYS = 3 * 366
#: Days whose intervals a calendar keeps (ten years of them: a ticket's life is far shorter).
_DAYS_REMEMBERED = 3660


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


@dataclass(frozen=True)
class BusinessCalendar:
    """When the desk's clock runs. Hours are local times per weekday (0 = Monday)."""

    timezone: str = "Europe/Paris"
    hours: dict[int, tuple[tuple[time, time], ...]] = field(
        default_factory=lambda: dict(DEFAULT_HOURS)
    )
    holiday_country: str | None = "FR"
    extra_holidays: frozenset[date] = frozenset()
    #: On-call periods (astreintes): they count as working time, holidays and nights included.
    on_call: tuple[Interval, ...] = ()
    #: Each local day's intervals once worked out: every ticket answer computes its deadlines and
    #: shares again, over the same few days (a tenth of a command's CPU before). The calendar is
    #: immutable, so a day's intervals never change; the days remembered are bounded.
    _days: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return True
        return bool(self.holiday_country) and day in _public_holidays(
            str(self.holiday_country), day.year
        )

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of one local day, merged, as aware datetimes."""
        known = self._days.get(day)
        if known is None:
            if len(self._days) >= _DAYS_REMEMBERED:
                self._days.clear()
            known = self._days[day] = tuple(self._work_out(day))
        return known

    def _work_out(self, day: date) -> list[Interval]:
        tz = ZoneInfo(self.timezone)
        found: list[Interval] = []
        if not self.is_holiday(day):
            for opens, closes in self.hours.get(day.weekday(), ()):
                found.append((datetime.combine(day, opens, tz), datetime.combine(day, closes, tz)))
        day_start = datetime.combine(day, time(0), tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tz)
        for start, end in self.on_call:
            clipped = (max(start, day_start), min(end, day_end))
            if clipped[0] < clipped[1]:
                found.append(clipped)
        return _merge(found)

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants."""
        total = timedelta()
        if end <= start:
            return total
        day = self._local_day(start)
        last = self._local_day(end)
        while day <= last:
            for lo, hi in self.intervals_on(day):
                overlap = min(hi, end) - max(lo, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed since `start`."""
        remaining = amount
        if remaining <= timedelta():
            return start
        day = self._local_day(start)
        for _ in range(_MAX_DAYS):
            for lo, hi in self.intervals_on(day):
                lo = max(lo, start)
                if hi <= lo:
                    continue
                if hi - lo >= remaining:
                    return (lo + remaining).astimezone(UTC)
                remaining -= hi - lo
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time within three years")

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.timezone)).date()


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
