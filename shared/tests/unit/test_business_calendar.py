"""Business hours and percentiles, with numbers worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from helpdesk_metrics.domain.stats import percentile, ratio
from helpdesk_shared.calendar import BusinessCalendar

PARIS = BusinessCalendar()  # Mon-Fri 08:00-18:00 Europe/Paris


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_within_one_working_day() -> None:
    # 2026-03-02 is a Monday; Paris is UTC+1 in March before the 29th.
    assert PARIS.seconds_between(utc(2026, 3, 2, 9, 0), utc(2026, 3, 2, 9, 30)) == 1800


def test_friday_evening_to_monday_morning_counts_only_opening_hours() -> None:
    # Friday 17:50 Paris -> Monday 08:10 Paris: 10 min on Friday + 10 min on Monday.
    start, end = utc(2026, 3, 6, 16, 50), utc(2026, 3, 9, 7, 10)
    assert PARIS.seconds_between(start, end) == 20 * 60


def test_holidays_and_reversed_ranges() -> None:
    calendar = BusinessCalendar(extra_holidays=frozenset({date(2026, 3, 2)}))
    assert calendar.seconds_between(utc(2026, 3, 2, 8), utc(2026, 3, 2, 12)) == 0
    assert PARIS.seconds_between(utc(2026, 3, 2, 12), utc(2026, 3, 2, 8)) == 0


def test_always_open_counts_elapsed_time() -> None:
    always = BusinessCalendar.always_open()
    assert always.seconds_between(utc(2026, 3, 7, 0), utc(2026, 3, 8, 0)) == 86400


def test_local_date_uses_the_desk_time_zone() -> None:
    assert PARIS.local_date(utc(2026, 3, 2, 23, 30)) == date(2026, 3, 3)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 90) == pytest.approx(37.0)  # rank 2.7: 30 + 0.7 * 10
    assert percentile([5.0], 90) == 5.0
    assert percentile([], 50) is None
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None


def test_an_addition_remembered_answers_the_same_instant_in_utc_whatever_the_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`add` remembers its answers (the same deadlines at every ticket answer): the same
    instant given in another zone gets the same UTC answer, as a calendar computing afresh."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from helpdesk_shared import calendar as module

    calendar = BusinessCalendar()
    friday = utc(2026, 3, 6, 16, 50)  # 17:50 in Paris: 10 minutes left on Friday
    first = calendar.add(friday, timedelta(minutes=30))
    again = calendar.add(friday.astimezone(ZoneInfo("America/New_York")), timedelta(minutes=30))
    assert first == again == utc(2026, 3, 9, 7, 20)  # Monday 08:20 in Paris
    assert first.tzinfo is UTC
    assert again.tzinfo is UTC
    assert calendar.add(friday, timedelta()) is friday
    assert BusinessCalendar().add(friday, timedelta(minutes=30)) == first
    monkeypatch.setattr(module, "_ADDITIONS_REMEMBERED", 8)
    for minutes in range(20):
        calendar.add(friday, timedelta(minutes=minutes + 1))
    assert len(calendar._added) <= 8


def test_a_duration_remembered_answers_as_a_calendar_computing_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`business_time` remembers its answers (one ticket answer asks for the same span up to
    four times): each span, asked again or in another zone, gets what a fresh calendar computes,
    and the memory stays bounded."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from helpdesk_shared import calendar as module

    monkeypatch.setattr(module, "_DURATIONS_REMEMBERED", 8)
    calendar = BusinessCalendar()
    friday = utc(2026, 3, 6, 16, 50)  # 17:50 in Paris
    for minutes in range(0, 4000, 97):
        end = friday + timedelta(minutes=minutes)
        for start in (friday, friday - timedelta(hours=minutes % 7)):
            fresh = BusinessCalendar().business_time(start, end)
            assert calendar.business_time(start, end) == fresh
            zoned = start.astimezone(ZoneInfo("Asia/Tokyo"))
            assert calendar.business_time(zoned, end) == fresh
        assert len(calendar._spent) <= 8
    # 10 minutes on Friday, Monday 08:00 to 17:50.
    assert calendar.business_time(friday, friday + timedelta(days=3)) == timedelta(minutes=600)
