"""The report folded a page at a time gives the same figures whatever the paging.

Each figure's rule is tested with numbers worked by hand in `test_metrics_domain_kpis.py`; here
`ReportFold` over pages of 1, 7 or 300 tickets must agree field for field with `kpi_report`
(the fold over one page of every ticket) on facts varied enough to reach every branch (each
channel, type, status, filters that keep some and leave others, tickets outside the period,
pending and late requests, ratings, complaints, recurring groups with ties of reception), on the
desk's business calendar: no counter may depend on where a page ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import Status, TicketFacts
from helpdesk_metrics.domain.recurring import recurring_incidents
from helpdesk_metrics.domain.report_fold import ReportFold, kpi_report
from helpdesk_shared.calendar import BusinessCalendar

MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
CALENDAR = BusinessCalendar()  # the desk's hours in Paris: durations in business seconds
FILTERS = [
    Filters(),
    Filters(group="desk"),
    Filters(channel="web"),
    Filters(channel="phone"),
    Filters(group="n2", channel="email"),
]
AS_OF = [datetime(2026, 3, 16, 10, 7, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC)]

#: The facts builders of `conftest.py` (`varied_tickets(n, seed)`, `calls_of(n)`).
Builder = Callable[..., Any]


def folded(
    tickets: list[TicketFacts],
    calls: list[CallFacts],
    filters: Filters,
    as_of: datetime,
    page: int,
    threshold: int = 3,
) -> object:
    fold = ReportFold(MARCH, filters, as_of, CALENDAR)
    for start in range(0, len(tickets), page):
        fold.add(tickets[start : start + page])
    kept = [t for t in tickets if filters.keeps(t)]
    return fold.report(calls, recurring_incidents(kept, MARCH, threshold))


@pytest.mark.parametrize("page", [1, 7, 300])
def test_the_folded_report_is_the_same_whatever_the_paging(
    page: int, varied_tickets: Builder, calls_of: Builder
) -> None:
    tickets, calls = varied_tickets(800), calls_of(150)
    for filters in FILTERS:
        for as_of in AS_OF:
            expected = kpi_report(tickets, calls, MARCH, filters, as_of=as_of, calendar=CALENDAR)
            assert folded(tickets, calls, filters, as_of, page) == expected, (filters, as_of)


def test_the_varied_facts_reach_every_figure(varied_tickets: Builder, calls_of: Builder) -> None:
    """The comparison above means something only if no figure is empty or trivial."""
    report = kpi_report(
        varied_tickets(800), calls_of(150), MARCH, Filters(), as_of=AS_OF[0], calendar=CALENDAR
    )
    assert all(c.denominator > c.numerator > 0 for c in report.commitments)
    assert report.backlog.total > 0
    assert len(report.backlog.by_status) == len(Status)
    assert len(report.time_to_take_into_account) == len(report.time_to_resolve) == 5
    for rate in (report.rates.escalation, report.rates.routing, report.rates.reopen):
        assert rate.total > rate.count > 0
    assert 0 < report.satisfaction.satisfied.count < report.satisfaction.responses
    assert {r for refs in report.opened_per_day.values() for r in refs} == {
        "web",
        "email",
        "phone",
        "walk_in",
    }
    assert {c.scope for c in report.problem_candidates} == {"asset", "department"}
    assert report.complaints.received > 0
    assert report.complaints.open > 0


def test_a_fold_with_no_tickets_reports_nothing_measured() -> None:
    as_of = AS_OF[0]
    expected = kpi_report([], [], MARCH, Filters(), as_of=as_of, calendar=CALENDAR)
    assert folded([], [], Filters(), as_of, 10) == expected
