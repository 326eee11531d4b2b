"""Business hours: the desk's commitments and durations count only while the desk is open.

A request sent on Friday evening and taken into account on Monday at 08:10 was taken into account
ten business minutes after it arrived, not sixty hours (issue 6: durations "in business hours").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours of the desk: the same hours each working day, in the desk's time zone."""

    timezone: str = "Europe/Paris"
    opens: time = time(8, 0)
    closes: time = time(18, 0)
    #: ISO weekdays the desk works (1 = Monday ... 7 = Sunday).
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def always_open(cls) -> BusinessHours:
        """A 24/7 calendar: business time equals elapsed time (desks with on-call cover)."""
        return cls(timezone="UTC", opens=time(0, 0), closes=time(0, 0), workdays=frozenset())

    @property
    def is_always_open(self) -> bool:
        return not self.workdays

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds from `start` to `end` (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        if self.is_always_open:
            return (end - start).total_seconds()
        zone = self.zone
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        total = 0.0
        while day <= last:
            if self._is_workday(day):
                opening = datetime.combine(day, self.opens, zone)
                closing = datetime.combine(day, self.closes, zone)
                lo, hi = max(start, opening), min(end, closing)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def local_date(self, moment: datetime) -> date:
        """The desk's calendar day of a moment (for "tickets opened per day")."""
        return moment.astimezone(self.zone).date()

    def _is_workday(self, day: date) -> bool:
        return day.isoweekday() in self.workdays and day not in self.holidays
