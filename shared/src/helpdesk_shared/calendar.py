"""The desk's business calendar: working hours, public holidays, on-call periods.

One calendar for every figure counted "in business time": the ticket service's SLA clock
(deadlines, elapsed time, each group's share) and the metrics service's durations and 30-minute
commitment. A request sent on Friday evening and taken into account on Monday at 08:10 was taken
into account ten business minutes after it arrived, not sixty hours; 14 July and 11 November do
not count; an on-call period (astreinte) counts as working time while it lasts, nights and
holidays included. Both services build it from the same settings (`CalendarSettings`).

Pure: no I/O (the `holidays` package computes public holidays itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

Interval = tuple[datetime, datetime]
Hours = dict[int, tuple[tuple[time, time], ...]]

_OFFICE_DAY = ((time(8, 0), time(18, 0)),)
#: Monday (0) to Friday (4), 08:00 to 18:00.
DEFAULT_HOURS: Hours = dict.fromkeys(range(5), _OFFICE_DAY)
#: A bound on searches forward, so a calendar with no working time at all fails instead of looping.
_MAX_DAYS = 3 * 366
#: Days whose intervals a calendar keeps (ten years of them: a ticket's life is far shorter).
_DAYS_REMEMBERED = 3660
#: Additions a calendar keeps (a few per open ticket: its clock's start and its targets).
_ADDITIONS_REMEMBERED = 65_536
#: Durations a calendar keeps: those of the answer being computed, asked again within it (an
#: answer is computed without a pause, so a few suffice). Kept small: a metrics report asks for
#: one or two spans per ticket of its period, never again, and its peak memory must not grow
#: with the period's tickets.
_DURATIONS_REMEMBERED = 64


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=16)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the desk's clock runs. Hours are local times per weekday (0 = Monday)."""

    timezone: str = "Europe/Paris"
    hours: Hours = field(default_factory=lambda: dict(DEFAULT_HOURS))
    #: Public holidays of this country do not count (None: no public holidays).
    holiday_country: str | None = "FR"
    #: Further days off (the IT department's own closures).
    extra_holidays: frozenset[date] = frozenset()
    #: On-call periods (astreintes): they count as working time, holidays and nights included.
    on_call: tuple[Interval, ...] = ()
    #: A desk open 24/7: business time is elapsed time.
    round_the_clock: bool = False
    #: Each local day's intervals once worked out: every ticket answer and every projected fact
    #: computes durations again over the same few days. The calendar is immutable, so a day's
    #: intervals never change; the days remembered are bounded.
    _days: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: `add`'s answers: a ticket's deadlines are the same additions from the same segment start
    #: at every answer and every projected row while its clock does not move (four per ticket
    #: view, about a fifth of a ticket command's own view). Bounded like the days.
    _added: dict[tuple[datetime, timedelta], datetime] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    #: `business_time`'s answers. One ticket answer asks for the same span (the running
    #: segment's start to now) up to four times: each target's elapsed time, the holding
    #: group's time, the groups' shares; a projected row twice. Every span ends at a new "now",
    #: so few are asked again later: the memory is cleared when full.
    _spent: dict[tuple[datetime, datetime], timedelta] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """A 24/7 calendar: business time equals elapsed time."""
        return cls(timezone="UTC", hours={}, holiday_country=None, round_the_clock=True)

    @property
    def is_always_open(self) -> bool:
        return self.round_the_clock

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

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
        tz = self.zone
        day_start = datetime.combine(day, time(0), tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tz)
        if self.round_the_clock:
            return [(day_start, day_end)]
        found: list[Interval] = []
        if not self.is_holiday(day):
            for opens, closes in self.hours.get(day.weekday(), ()):
                found.append((datetime.combine(day, opens, tz), datetime.combine(day, closes, tz)))
        for start, end in self.on_call:
            clipped = (max(start, day_start), min(end, day_end))
            if clipped[0] < clipped[1]:
                found.append(clipped)
        return _merge(found)

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero when `end` is not after `start`)."""
        if end <= start:
            return timedelta()
        if self.round_the_clock:
            return end - start
        known = self._spent.get((start, end))
        if known is None:
            if len(self._spent) >= _DURATIONS_REMEMBERED:
                self._spent.clear()
            # Keyed by the instants: the answer does not depend on their zones.
            known = self._spent[(start, end)] = self._business_time(start, end)
        return known

    def _business_time(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta()
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            for lo, hi in self.intervals_on(day):
                overlap = min(hi, end) - max(lo, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """`business_time` in seconds (the unit of the KPIs and of `/metrics`)."""
        return self.business_time(start, end).total_seconds()

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed since `start`."""
        if amount <= timedelta():
            return start
        known = self._added.get((start, amount))
        if known is None:
            if len(self._added) >= _ADDITIONS_REMEMBERED:
                self._added.clear()
            # Keyed by the instant: the answer is in UTC whatever `start`'s zone.
            known = self._added[(start, amount)] = self._add(start, amount)
        return known

    def _add(self, start: datetime, amount: timedelta) -> datetime:
        remaining = amount
        if self.round_the_clock:
            return (start + remaining).astimezone(UTC)
        day = self.local_date(start)
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

    def describe(self) -> str:
        """A short account of the calendar for the KPI answers ("08:00-18:00 Europe/Paris")."""
        if self.round_the_clock:
            return "24/7"
        spans = sorted({f"{o:%H:%M}-{c:%H:%M}" for day in self.hours.values() for o, c in day})
        parts = [", ".join(spans) or "no working hours", self.timezone]
        if self.holiday_country:
            parts.append(f"public holidays ({self.holiday_country}) off")
        if self.on_call:
            parts.append(f"{len(self.on_call)} on-call period(s)")
        return " ".join(parts[:2]) + "".join(f", {p}" for p in parts[2:])

    def local_date(self, instant: datetime) -> date:
        """The desk's calendar day of an instant (for "tickets opened per day")."""
        return instant.astimezone(self.zone).date()


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
