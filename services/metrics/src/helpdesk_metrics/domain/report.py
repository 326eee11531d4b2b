"""Every figure of `GET /v1/kpis` for one period and set of filters (computed by
`report_fold.ReportFold`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from helpdesk_metrics.domain.commitments import Commitment, Filters, Period
from helpdesk_metrics.domain.indicators import Backlog, Complaints, Durations, Rates, Satisfaction
from helpdesk_metrics.domain.recurring import ProblemCandidate


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
