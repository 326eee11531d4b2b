"""Every figure of `GET /v1/kpis` for one period and set of filters, computed from facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import (
    DEFAULT_RULES,
    Commitment,
    CommitmentRules,
    Filters,
    Period,
    commitments,
)
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.indicators import (
    Backlog,
    Complaints,
    Durations,
    Rates,
    Satisfaction,
    backlog,
    complaints,
    opened_per_day,
    rates,
    satisfaction,
    time_to_resolve,
    time_to_take_into_account,
)
from helpdesk_metrics.domain.recurring import (
    DEFAULT_THRESHOLD,
    ProblemCandidate,
    recurring_incidents,
)
from helpdesk_shared.calendar import BusinessCalendar


@dataclass(frozen=True)
class KpiReport:
    period: Period
    filters: Filters
    as_of: datetime
    commitments: tuple[Commitment, ...]
    backlog: Backlog
    time_to_take_into_account: dict[str, Durations]
    time_to_resolve: dict[str, Durations]
    rates: Rates
    satisfaction: Satisfaction
    opened_per_day: dict[date, dict[str, int]]
    problem_candidates: list[ProblemCandidate]
    complaints: Complaints


def kpi_report(
    tickets: Sequence[TicketFacts],
    calls: Sequence[CallFacts],
    period: Period,
    filters: Filters,
    *,
    as_of: datetime,
    calendar: BusinessCalendar,
    recurrence_threshold: int = DEFAULT_THRESHOLD,
    rules: CommitmentRules = DEFAULT_RULES,
) -> KpiReport:
    """All indicators over `period` for the tickets kept by `filters`.

    `as_of` is "now" for the figures that depend on it (a request not yet taken is late once its
    30 minutes have passed); the backlog is taken at the end of the period, or now if earlier.
    """
    kept = [t for t in tickets if filters.keeps(t)]
    measured_calls = list(calls) if filters.includes_calls else []
    return KpiReport(
        period=period,
        filters=filters,
        as_of=as_of,
        commitments=commitments(kept, measured_calls, period, as_of, calendar, rules),
        backlog=backlog(kept, period.backlog_at(as_of)),
        time_to_take_into_account=time_to_take_into_account(kept, period, calendar),
        time_to_resolve=time_to_resolve(kept, period, calendar),
        rates=rates(kept, period),
        satisfaction=satisfaction(kept, period),
        opened_per_day=opened_per_day(kept, period, calendar),
        problem_candidates=recurring_incidents(kept, period, recurrence_threshold),
        complaints=complaints(kept, period, period.backlog_at(as_of)),
    )
