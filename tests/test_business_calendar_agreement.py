"""The SLA clock and the KPIs count the same business time: one calendar, two services.

Generated timelines (reception, take, resolution, anywhere in a year with its public holidays,
weekends, nights and on-call periods) are run through the ticket service's domain (its SLA
clock's elapsed time) and folded into the metrics service's facts (the durations its KPIs and
`/metrics` histograms count): both must give the same seconds. The timelines have no hold:
the SLA clock stops while a ticket is on hold, the KPI durations (reception to take, reception
to resolution) do not, by definition.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk_metrics.domain.commitments import TAKE_INTO_ACCOUNT_SECONDS, Filters, Period
from helpdesk_metrics.domain.facts import TicketFacts, fold_ticket
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_metrics.settings import Settings as MetricsSettings
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.events.ticket import SlaTarget, TicketEvent
from helpdesk_ticket.domain.ticket.commands import Resolve, Take
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.sla import target_view
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.settings import Settings as TicketSettings
from helpdesk_ticket.testing import opened, run, start

YEAR = date.today().year + 1
START = datetime(YEAR, 1, 1, tzinfo=UTC)
MINUTES_IN_YEAR = 365 * 24 * 60

moments = st.integers(0, MINUTES_IN_YEAR).map(lambda m: START + timedelta(minutes=m))
delays = st.integers(1, 6 * 24 * 60).map(lambda m: timedelta(minutes=m))
on_call = st.lists(
    st.tuples(moments, st.integers(30, 3 * 24 * 60).map(lambda m: timedelta(minutes=m))).map(
        lambda p: (p[0], p[0] + p[1])
    ),
    max_size=2,
)


def _records(events: list[TicketEvent]) -> list[EventRecord]:
    return [
        EventRecord(
            f"ticket-{e.ticket_id}", n, type(e).__name__, e.model_dump(mode="json"), e.occurred_at
        )
        for n, e in enumerate(events, start=1)
    ]


def _both(
    received: datetime, take: timedelta, resolve: timedelta, calendar: BusinessCalendar
) -> tuple[TicketPolicy, Ticket, TicketFacts]:
    policy = TicketPolicy(calendar=calendar)
    first = opened(at=received)
    ticket, events = run(
        start(first),
        Take(by="agent", at=received + take),
        Resolve(by="agent", at=received + take + resolve, solution="fait", resolution_code="fix"),
        policy=policy,
    )
    facts = fold_ticket(_records([first, *events]), calendar)
    assert facts is not None
    return policy, ticket, facts


@settings(max_examples=150, deadline=None)
@given(received=moments, take=delays, resolve=delays, periods=on_call)
def test_sla_elapsed_time_equals_the_kpi_durations(
    received: datetime,
    take: timedelta,
    resolve: timedelta,
    periods: list[tuple[datetime, datetime]],
) -> None:
    calendar = BusinessCalendar(on_call=tuple(periods))
    policy, ticket, facts = _both(received, take, resolve, calendar)
    done = received + take + resolve
    taken = target_view(ticket, SlaTarget.TAKING_INTO_ACCOUNT, policy, done)
    solved = target_view(ticket, SlaTarget.RESOLUTION, policy, done)
    assert facts.take_business_seconds == taken.elapsed.total_seconds()
    assert facts.resolve_business_seconds == solved.elapsed.total_seconds()
    # ... and the 30-minute commitment is met exactly when the SLA clock says 30 minutes or less.
    mail = dataclasses.replace(facts, channel="email")
    period = Period(received, received + timedelta(seconds=1))
    report = kpi_report([mail], [], period, Filters(), as_of=done, calendar=calendar)
    kpi = {c.name: c for c in report.commitments}["mail_web_taken_within_30min"]
    assert kpi.numerator == (taken.elapsed.total_seconds() <= TAKE_INTO_ACCOUNT_SECONDS)


def _paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BusinessCalendar().zone)


def _next(month: int, day: int, weekdays: range) -> date:
    """The next such day (from next year) that falls on one of `weekdays` (0 = Monday)."""
    year = date.today().year + 1
    while date(year, month, day).weekday() not in weekdays:
        year += 1
    return date(year, month, day)


def test_armistice_day_does_not_count_for_either_service() -> None:
    armistice = _next(11, 11, range(4))  # Monday to Thursday: the 12th is a working day
    received = _paris(armistice, 9)
    _policy, _ticket, facts = _both(
        received,
        _paris(armistice + timedelta(days=1), 9) - received,
        timedelta(hours=1),
        BusinessCalendar(),
    )
    assert facts.take_business_seconds == 3600  # 08:00 to 09:00 on the 12th, not 10 hours


def test_bastille_day_does_not_count_for_either_service() -> None:
    bastille = _next(7, 14, range(4))
    received = _paris(bastille, 9)
    taken = _paris(bastille + timedelta(days=1), 8, 10)
    _policy, _ticket, facts = _both(
        received, taken - received, timedelta(hours=1), BusinessCalendar()
    )
    assert facts.take_business_seconds == 600  # ten minutes on the 15th, not 33,000 s


def test_both_services_read_one_calendar_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    day_off = _next(3, 2, range(5))
    monkeypatch.setenv("HELPDESK_EXTRA_HOLIDAYS", f'["{day_off.isoformat()}"]')
    monkeypatch.setenv("HELPDESK_WORKING_HOURS_START", "09:00")
    monkeypatch.setenv(
        "HELPDESK_ON_CALL_PERIODS",
        f'[["{_paris(day_off, 10).isoformat()}", "{_paris(day_off, 12).isoformat()}"]]',
    )
    sla = TicketSettings().policy().calendar
    kpis = MetricsSettings().business_calendar()
    assert sla == kpis
    morning = (_paris(day_off, 8), _paris(day_off, 18))
    assert sla.business_time(*morning) == kpis.business_time(*morning) == timedelta(hours=2)


def test_the_older_per_service_names_are_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_OPENS", "07:30")
    monkeypatch.setenv("TICKET_HOLIDAY_COUNTRY", "")
    monkeypatch.setenv("METRICS_WORKDAYS", "1,2,3,4,5,6")
    for calendar in (TicketSettings().policy().calendar, MetricsSettings().business_calendar()):
        assert calendar.hours[5] == ((time(7, 30), time(18, 0)),)
        assert calendar.holiday_country is None
