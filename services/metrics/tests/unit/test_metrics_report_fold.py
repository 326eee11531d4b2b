"""The report folded a page at a time gives the same figures whatever the paging.

Each figure's rule is tested with numbers worked by hand in `test_metrics_domain_kpis.py`; here
`ReportFold` over pages of 1, 7 or 300 tickets must agree field for field with `kpi_report`
(the fold over one page of every ticket) on facts varied enough to reach every branch (each
channel, type, status, filters that keep some and leave others, tickets outside the period,
pending and late requests, ratings, complaints, recurring groups with ties of reception), on the
desk's business calendar: no counter may depend on where a page ends.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

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


def varied_tickets(n: int, seed: int = 7) -> list[TicketFacts]:
    rng = random.Random(seed)
    pick = rng.choice
    tickets = []
    for i in range(n):
        received = datetime(2026, 2, 20, tzinfo=UTC) + timedelta(minutes=20 * rng.randrange(3000))
        taken = pick([None, received + timedelta(minutes=rng.randrange(1, 3000))])
        resolved = pick([None, None, (taken or received) + timedelta(hours=rng.randrange(1, 200))])
        closed = pick([None, resolved and resolved + timedelta(days=rng.randrange(0, 5))])
        desk = rng.random() < 0.4  # kept by the desk at level 1 throughout: single-desk
        reopenings = 0 if desk else pick([0, 0, 1, 2])
        tickets.append(
            TicketFacts(
                ticket_id=f"{i:06d}",
                reference=f"INC-{rng.randrange(10**6):06d}",
                type=pick(["incident", "incident", "request", "complaint"]),
                channel=pick(["web", "email", "phone", "walk_in"]),
                received_at=received,
                opened_at=received,
                initial_group="desk" if desk else pick(["desk", "desk", "n2"]),
                initial_level=1 if desk else pick([1, 1, 2]),
                group="desk" if desk else pick(["desk", "desk", "n2", "management"]),
                level=1 if desk else pick([1, 1, 2, 3]),
                status=pick(list(Status)),
                priority=pick([None, "P1", "P2", "P3", "P4"]),
                category=pick([None, "printer", "network", "mail"]),
                asset_tag=pick([None, "", "PC-1", "PC-2", "PRN-9"]),
                department=pick([None, "DAF", "DRH", "DSI"]),
                admissibility=pick([None, "admissible", "in_scope", "out_of_scope"]),
                taken_at=taken,
                first_resolved_at=resolved and pick([resolved, resolved - timedelta(hours=1)]),
                resolved_at=resolved if not reopenings or rng.random() < 0.5 else None,
                closed_at=closed,
                escalations=0 if desk else pick([0, 0, 1, 2]),
                routings=0 if desk else pick([0, 0, 1]),
                reopenings=reopenings,
                sla_breaches=pick([0, 0, 0, 1, 3]),
                rating=pick([None, None, 1, 2, 3, 4, 5]),
                first_contact=pick([None, True, False]),
                resolved_level=pick([None, 1, 2]),
            )
        )
    return tickets


def calls_of(n: int) -> list[CallFacts]:
    start = datetime(2026, 2, 28, 8, tzinfo=UTC)
    return [
        CallFacts(
            call_id=f"c{i}",
            offered_at=start + timedelta(hours=7 * i),
            answered_at=None if i % 4 == 0 else start + timedelta(hours=7 * i, seconds=i % 50),
            abandoned_at=start + timedelta(hours=7 * i, seconds=40) if i % 4 == 0 else None,
            wait_seconds=None if i % 9 == 0 else float(i % 50),
        )
        for i in range(n)
    ]


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
def test_the_folded_report_is_the_same_whatever_the_paging(page: int) -> None:
    tickets, calls = varied_tickets(800), calls_of(150)
    for filters in FILTERS:
        for as_of in AS_OF:
            expected = kpi_report(tickets, calls, MARCH, filters, as_of=as_of, calendar=CALENDAR)
            assert folded(tickets, calls, filters, as_of, page) == expected, (filters, as_of)


def test_the_varied_facts_reach_every_figure() -> None:
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
