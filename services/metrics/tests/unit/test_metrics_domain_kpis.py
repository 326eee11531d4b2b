"""The commitments and indicators, with numbers worked by hand.

The ticket figures are read from `kpi_report` (`ReportFold` over one page), the one place their
rules are written; the paging itself is tested in `test_metrics_report_fold.py`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import (
    AnswerDenominator,
    Commitment,
    CommitmentRules,
    Filters,
    Period,
    call_abandonment,
    calls_answered_within_30s,
)
from helpdesk_metrics.domain.facts import Status, TicketFacts
from helpdesk_metrics.domain.recurring import recurring_incidents
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_shared.calendar import BusinessCalendar

MON = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 10:00 Paris
MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
ALWAYS = BusinessCalendar.always_open()


def ticket(n: int, minutes_to_take: float | None = None, **changes: object) -> TicketFacts:
    base = TicketFacts(
        ticket_id=f"t{n}",
        reference=f"INC-{n}",
        type="incident",
        channel="web",
        received_at=MON,
        opened_at=MON,
        initial_group="desk",
        initial_level=1,
        group="desk",
        level=1,
        admissibility="admissible",
        taken_at=None if minutes_to_take is None else MON + timedelta(minutes=minutes_to_take),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def report(
    tickets: list[TicketFacts],
    as_of: datetime = MARCH.end,
    calendar: BusinessCalendar = ALWAYS,
) -> KpiReport:
    """March's report of `tickets` with no calls and no filter (`as_of` sets the backlog's
    moment and when a request not yet taken turns late)."""
    return kpi_report(tickets, [], MARCH, Filters(), as_of=as_of, calendar=calendar)


def commitment(
    tickets: list[TicketFacts],
    name: str,
    as_of: datetime = MARCH.end,
    calendar: BusinessCalendar = ALWAYS,
) -> Commitment:
    return {c.name: c for c in report(tickets, as_of, calendar).commitments}[name]


def call(n: int, wait: float, answered: bool) -> CallFacts:
    end = MON + timedelta(seconds=wait)
    return CallFacts(
        call_id=f"c{n}",
        offered_at=MON,
        answered_at=end if answered else None,
        abandoned_at=None if answered else end,
        wait_seconds=wait,
    )


def test_call_commitments() -> None:
    # 20 calls: 2 abandoned (10 %: not below 10 %, so missed); of 18 answered, 17 within 30 s.
    calls = [call(i, 10, True) for i in range(17)]
    calls += [call(17, 45, True), call(18, 60, False), call(19, 5, False)]
    abandonment = call_abandonment(calls, MARCH)
    assert (abandonment.numerator, abandonment.denominator) == (2, 20)
    assert abandonment.value == pytest.approx(0.10)
    assert abandonment.met is False
    # Default denominator: the 18 answered plus the call abandoned after 60 s (not answered
    # within 30 s); the call abandoned after 5 s is call loss, not counted here.
    answered = calls_answered_within_30s(calls, MARCH)
    assert (answered.numerator, answered.denominator) == (17, 19)
    assert answered.value == pytest.approx(0.8947, abs=1e-4)
    assert answered.met is False
    only_answered = calls_answered_within_30s(calls, MARCH, AnswerDenominator.ANSWERED)
    assert (only_answered.numerator, only_answered.denominator) == (17, 18)
    assert only_answered.value == pytest.approx(0.9444, abs=1e-4)
    assert only_answered.met is True


@pytest.mark.parametrize(
    ("denominator", "expected"),
    [
        (AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S, (1, 3)),
        (AnswerDenominator.ANSWERED, (1, 2)),
    ],
)
def test_the_30_second_line_between_call_loss_and_a_late_answer(
    denominator: AnswerDenominator, expected: tuple[int, int]
) -> None:
    calls = [
        call(1, 30, True),  # answered at 30 s: in time
        call(2, 31, True),  # answered at 31 s: late
        call(3, 30, False),  # abandoned at 30 s: call loss only
        call(4, 30.5, False),  # abandoned after 30 s: not answered within 30 s
    ]
    result = calls_answered_within_30s(calls, MARCH, denominator)
    assert (result.numerator, result.denominator) == expected
    rules = CommitmentRules(answer_denominator=denominator)
    figures = kpi_report([], calls, MARCH, Filters(), as_of=MON, calendar=ALWAYS, rules=rules)
    by_name = {c.name: c for c in figures.commitments}
    assert (
        by_name["calls_answered_within_30s"].numerator,
        by_name["calls_answered_within_30s"].denominator,
    ) == expected
    assert by_name["call_abandonment"].numerator == 2


def test_no_calls_means_no_value_and_no_verdict() -> None:
    empty = call_abandonment([], MARCH)
    assert empty.value is None
    assert empty.met is None


def test_mail_and_web_taken_within_30_minutes() -> None:
    as_of = MON + timedelta(hours=3)
    tickets = [
        ticket(1, 10),  # web, in time
        ticket(2, 30, channel="email"),  # exactly 30 min: in time
        ticket(3, 45),  # late
        ticket(4, None),  # never taken, 3 h later: late
        ticket(5, None, received_at=as_of - timedelta(minutes=10)),  # pending: not measured
        ticket(6, 90, channel="phone"),  # not mail/web
        ticket(7, 5, received_at=datetime(2026, 2, 27, tzinfo=UTC)),  # outside the period
    ]
    result = commitment(tickets, "mail_web_taken_within_30min", as_of=as_of)
    assert (result.numerator, result.denominator) == (2, 4)
    assert result.value == 0.5
    assert result.met is False


def test_taken_within_30_minutes_counts_business_time() -> None:
    friday_evening = datetime(2026, 3, 6, 16, 50, tzinfo=UTC)  # 17:50 Paris
    t = ticket(1, received_at=friday_evening, taken_at=datetime(2026, 3, 9, 7, 10, tzinfo=UTC))
    result = commitment(
        [t],
        "mail_web_taken_within_30min",
        as_of=MON + timedelta(days=10),
        calendar=BusinessCalendar(),
    )
    assert result.value == 1.0


def test_resolved_by_single_desk() -> None:
    resolved = MON + timedelta(hours=1)
    tickets = [ticket(i, 5, resolved_at=resolved) for i in range(7)]  # 7 solved at the desk
    tickets += [ticket(7, 5, resolved_at=resolved, escalations=1)]
    tickets += [ticket(8, 5, resolved_at=resolved, routings=1)]
    tickets += [ticket(9, 5, resolved_at=resolved, initial_group="network", group="network")]
    tickets += [ticket(10, 5)]  # not resolved: not counted
    result = commitment(tickets, "resolved_by_single_desk")
    assert (result.numerator, result.denominator) == (7, 10)
    assert result.met is True  # 70 % > 65 %
    tickets += [ticket(11, 5, resolved_at=resolved, reopenings=1)]  # reopened: not by the desk
    result = commitment(tickets, "resolved_by_single_desk")
    assert (result.numerator, result.denominator) == (7, 11)
    assert result.met is False  # 63.6 %


RESOLVED = MON + timedelta(hours=1)
DESK_CASES = [
    ("solved at the desk", {}, True),
    ("put on hold, then solved at the desk", {"first_contact": False}, True),
    ("escalated to level 2", {"escalations": 1, "level": 2, "resolved_level": 2}, False),
    ("escalated to management", {"escalations": 1, "group": "management"}, False),
    ("routed to another team", {"routings": 1, "group": "network"}, False),
    ("assigned to another team", {"group": "network"}, False),
    ("reopened, then solved again", {"reopenings": 1}, False),
    ("opened in a routed domain", {"initial_group": "servers", "group": "servers"}, False),
]


@pytest.mark.parametrize(("case", "changes", "by_desk"), DESK_CASES, ids=[c[0] for c in DESK_CASES])
def test_what_breaks_a_resolution_by_the_single_desk(
    case: str, changes: dict[str, object], by_desk: bool
) -> None:
    """A hold or a comment keeps the ticket at the desk (the ticket service's `first_contact`
    says False after a hold: it is not what this commitment measures); a hand-over or a
    reopening does not."""
    t = ticket(1, 5, resolved_at=RESOLVED, **changes)
    result = commitment([t], "resolved_by_single_desk")
    assert (result.numerator, result.denominator) == (int(by_desk), 1)


@pytest.mark.parametrize("outcome", ["out_of_scope", "to_route", None])
def test_only_admissible_tickets_count_for_the_single_desk(outcome: str | None) -> None:
    t = ticket(1, 5, resolved_at=RESOLVED, admissibility=outcome)
    result = commitment([t, ticket(2, 5, resolved_at=RESOLVED)], "resolved_by_single_desk")
    assert (result.numerator, result.denominator) == (1, 1)


def test_backlog_by_dimension_at_a_moment() -> None:
    tickets = [
        ticket(1, 5, status=Status.IN_PROGRESS, priority="P1", category="printer"),
        ticket(2, None, status=Status.NEW, priority="P1", level=2, group="n2"),
        ticket(3, 5, status=Status.ON_HOLD),
        ticket(4, 5, status=Status.CLOSED, closed_at=MON + timedelta(hours=1)),
        ticket(5, None, received_at=MON + timedelta(days=2)),  # not yet received
    ]
    result = report(tickets, as_of=MON + timedelta(hours=2)).backlog
    assert result.total == 3
    assert result.by_status == {"in_progress": 1, "new": 1, "on_hold": 1}
    assert result.by_level == {"1": 2, "2": 1}
    assert result.by_group == {"desk": 2, "n2": 1}
    assert result.by_priority == {"P1": 2, "none": 1}
    assert result.by_category == {"none": 2, "printer": 1}
    # Before ticket 4 was closed, it was in the backlog too.
    assert report(tickets, as_of=MON + timedelta(minutes=30)).backlog.total == 4


def test_durations_by_priority() -> None:
    tickets = [ticket(i, m, priority="P2") for i, m in enumerate([10, 20, 30, 40])]
    tickets += [ticket(9, 60, priority="P1")]
    tickets += [
        ticket(10, 1, priority="P1", resolved_at=MON + timedelta(hours=2)),
        ticket(11, 1, priority="P1", resolved_at=MON + timedelta(hours=4)),
    ]
    take = report(tickets).time_to_take_into_account
    assert take["P2"].count == 4
    assert take["P2"].median_seconds == 25 * 60
    assert take["P2"].p90_seconds == pytest.approx(37 * 60)
    assert take["P1"].count == 3  # 60, 1, 1 minutes -> median 1 min
    assert take["P1"].median_seconds == 60
    resolve = report(tickets).time_to_resolve
    assert list(resolve) == ["P1"]
    assert resolve["P1"].median_seconds == 3 * 3600
    assert resolve["P1"].p90_seconds == pytest.approx(3.8 * 3600)


def test_rates_satisfaction_and_volumes() -> None:
    resolved = MON + timedelta(hours=1)
    tickets = [
        ticket(1, 5, escalations=2, resolved_at=resolved, first_resolved_at=resolved, rating=5),
        ticket(2, 5, routings=1, sla_breaches=2, first_resolved_at=resolved, reopenings=1),
        ticket(3, 5, first_resolved_at=resolved, rating=2, channel="email"),
        ticket(4, 5, received_at=MON + timedelta(days=1), channel="email"),
    ]
    figures = report(tickets, calendar=BusinessCalendar())
    r = figures.rates
    assert (r.escalation.count, r.escalation.total) == (1, 4)
    assert r.routing.value == 0.25
    assert (r.reopen.count, r.reopen.total) == (1, 3)
    assert r.sla_compliance.value == 0.75
    assert r.sla_breaches == 2
    s = figures.satisfaction
    assert (s.responses, s.average, s.satisfied.value) == (2, 3.5, 0.5)
    days = figures.opened_per_day
    assert days == {date(2026, 3, 2): {"email": 1, "web": 2}, date(2026, 3, 3): {"email": 1}}


def test_recurring_incidents_become_problem_candidates() -> None:
    printers = [ticket(i, 5, category="printer", asset_tag="PRN-1") for i in range(3)]
    mail = [ticket(10 + i, 5, category="mail", department="DAF") for i in range(4)]
    other = [
        ticket(20, 5, category="printer", asset_tag="PRN-2"),
        ticket(21, 5, category="printer", asset_tag="PRN-1", type="service_request"),
    ]
    found = recurring_incidents(printers + mail + other, MARCH, threshold=3)
    assert [(c.category, c.scope, c.key, c.incidents) for c in found] == [
        ("mail", "department", "DAF", 4),
        ("printer", "asset", "PRN-1", 3),
    ]
    assert found[1].references == ("INC-0", "INC-1", "INC-2")


def test_report_applies_filters_and_leaves_calls_out_of_a_group() -> None:
    tickets = [ticket(1, 5), ticket(2, 50, group="n2"), ticket(3, 5, channel="email")]
    calls = [call(1, 10, True)]
    as_of = MON + timedelta(hours=1)
    desk = kpi_report(tickets, calls, MARCH, Filters(group="desk"), as_of=as_of, calendar=ALWAYS)
    by_name = {c.name: c for c in desk.commitments}
    assert by_name["call_abandonment"].denominator == 0
    assert by_name["mail_web_taken_within_30min"].value == 1.0
    assert desk.backlog.total == 2
    everything = kpi_report(tickets, calls, MARCH, Filters(), as_of=as_of, calendar=ALWAYS)
    by_name = {c.name: c for c in everything.commitments}
    assert by_name["call_abandonment"].denominator == 1
    assert by_name["mail_web_taken_within_30min"].value == pytest.approx(2 / 3)
    web = kpi_report(tickets, calls, MARCH, Filters(channel="web"), as_of=as_of, calendar=ALWAYS)
    assert web.backlog.total == 2
    assert {c.name: c for c in web.commitments}["call_abandonment"].denominator == 0


def test_a_period_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="end after"):
        Period(MON, MON)


@pytest.mark.parametrize(
    "as_of",
    [
        MON + timedelta(hours=1),
        datetime(2026, 4, 15, tzinfo=UTC),
        datetime(2026, 2, 20, tzinfo=UTC),
    ],
    ids=["during", "after", "before"],
)
def test_tickets_closed_before_the_relevant_moment_change_no_figure(as_of: datetime) -> None:
    """The bound a report's query uses (`Period.relevant_from`) leaves out no needed ticket."""
    february = datetime(2026, 2, 10, 9, tzinfo=UTC)
    received = [february + timedelta(days=n) for n in range(4)]
    tickets = [
        ticket(n, received_at=at, opened_at=at, taken_at=at + timedelta(minutes=5))
        for n, at in enumerate(received)
    ]
    tickets = [
        replace(
            t,
            status=Status.CLOSED,
            resolved_at=closed,
            first_resolved_at=closed,
            closed_at=closed,
            rating=5,
        )
        for t, closed in zip(
            tickets,
            [february + timedelta(days=d) for d in (2, 15)]
            + [MARCH.start + timedelta(days=1), MARCH.end],
            strict=True,
        )
    ] + [ticket(9, 5), ticket(10, None, received_at=MARCH.end + timedelta(days=1))]
    everything = kpi_report(tickets, [], MARCH, Filters(), as_of=as_of, calendar=ALWAYS)
    bound = MARCH.relevant_from(as_of)
    needed = [t for t in tickets if t.closed_at is None or t.closed_at >= bound]
    assert len(needed) < len(tickets)
    assert kpi_report(needed, [], MARCH, Filters(), as_of=as_of, calendar=ALWAYS) == everything


def test_the_answer_denominator_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk_metrics.settings import Settings

    assert Settings().commitment_rules().answer_denominator is (
        AnswerDenominator.ANSWERED_AND_ABANDONED_AFTER_30S
    )
    monkeypatch.setenv("METRICS_CALLS_ANSWERED_DENOMINATOR", "answered")
    assert Settings().commitment_rules().answer_denominator is AnswerDenominator.ANSWERED


def test_complaints_are_counted_apart() -> None:
    complaint = ticket(1, 5, type="complaint", resolved_at=RESOLVED, group="management")
    pending = ticket(2, None, type="complaint", group="management", status=Status.NEW)
    incident = ticket(3, 5, resolved_at=RESOLVED)
    figures = report([complaint, pending, incident], as_of=MON + timedelta(hours=2))
    result = {c.name: c for c in figures.commitments}["resolved_by_single_desk"]
    assert (result.numerator, result.denominator) == (1, 1)
    assert (figures.complaints.received, figures.complaints.resolved) == (2, 1)
    assert figures.complaints.open == 2  # neither is closed
