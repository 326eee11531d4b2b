from datetime import UTC, date, datetime, timedelta

import pytest

from helpdesk_shared.events.ticket import Priority
from helpdesk_ticket.settings import Settings


def test_calendar_and_targets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "TICKET_ON_CALL_PERIODS", '[["2024-12-07T08:00:00+01:00", "2024-12-07T12:00:00+01:00"]]'
    )
    monkeypatch.setenv("TICKET_EXTRA_HOLIDAYS", '["2024-12-24"]')
    monkeypatch.setenv("TICKET_SLA_MINUTES", '{"P1": [10, 120]}')
    monkeypatch.setenv("TICKET_REOPEN_WINDOW_DAYS", "3")
    policy = Settings().policy()
    assert policy.reopen_window == timedelta(days=3)
    assert policy.targets(Priority.CRITICAL).taking_into_account == timedelta(minutes=10)
    assert policy.targets(Priority.LOW).resolution == timedelta(hours=40)
    assert policy.calendar.is_holiday(date(2024, 12, 24))
    saturday = datetime(2024, 12, 7, 7, 30, tzinfo=UTC)  # 08:30 in Paris, on call
    assert policy.calendar.business_time(saturday, saturday + timedelta(hours=1)) == timedelta(
        hours=1
    )


def test_the_port_is_8002() -> None:
    assert Settings().ticket_port == 8002
