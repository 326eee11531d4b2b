"""The JSON shape of `GET /v1/kpis` (documented in the OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from helpdesk_metrics.domain.commitments import Commitment
from helpdesk_metrics.domain.indicators import Durations, Rate
from helpdesk_metrics.domain.report import KpiReport


class PeriodOut(BaseModel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    model_config = {"populate_by_name": True}


class FiltersOut(BaseModel):
    group: str | None
    channel: str | None


class CommitmentOut(BaseModel):
    name: str
    title: str
    value: float | None = Field(description="Ratio in [0, 1]; null when nothing was measured")
    target: float
    comparison: str = Field(description="`below`: met when value < target; `above`: value > target")
    met: bool | None
    numerator: int
    denominator: int
    period: PeriodOut
    filters: FiltersOut

    @classmethod
    def of(cls, c: Commitment, period: PeriodOut, filters: FiltersOut) -> CommitmentOut:
        return cls(
            name=c.name,
            title=c.title,
            value=c.value,
            target=c.target,
            comparison=c.comparison.value,
            met=c.met,
            numerator=c.numerator,
            denominator=c.denominator,
            period=period,
            filters=filters,
        )


class BacklogOut(BaseModel):
    at: datetime
    total: int
    by_status: dict[str, int]
    by_level: dict[str, int]
    by_group: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]


class DurationsOut(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, d: Durations) -> DurationsOut:
        return cls(count=d.count, median_seconds=d.median_seconds, p90_seconds=d.p90_seconds)


class RateOut(BaseModel):
    value: float | None
    count: int
    total: int

    @classmethod
    def of(cls, r: Rate) -> RateOut:
        return cls(value=r.value, count=r.count, total=r.total)


class RatesOut(BaseModel):
    escalation: RateOut
    routing: RateOut
    reopen: RateOut
    sla_compliance: RateOut
    sla_breaches: int


class SatisfactionOut(BaseModel):
    responses: int
    average: float | None = Field(description="Mean score, 1 to 5")
    satisfied: RateOut = Field(description="Scores of 4 or 5")


class ProblemCandidateOut(BaseModel):
    category: str
    scope: str = Field(description="`asset` or `department`")
    key: str
    incidents: int
    references: list[str]
    first_at: datetime
    last_at: datetime


class ComplaintsOut(BaseModel):
    """Complaints, counted apart from the desk's tickets (not in its resolution rate)."""

    received: int
    resolved: int
    open: int


class KpisOut(BaseModel):
    period: PeriodOut
    filters: FiltersOut
    as_of: datetime
    business_hours: str
    commitments: list[CommitmentOut]
    backlog: BacklogOut
    time_to_take_into_account: dict[str, DurationsOut] = Field(description="By priority")
    time_to_resolve: dict[str, DurationsOut] = Field(description="By priority")
    rates: RatesOut
    satisfaction: SatisfactionOut
    opened_per_day: dict[date, dict[str, int]] = Field(description="Per day, then per channel")
    problem_candidates: list[ProblemCandidateOut]
    complaints: ComplaintsOut

    @classmethod
    def of(cls, r: KpiReport, business_hours: str) -> KpisOut:
        period = PeriodOut(start=r.period.start, end=r.period.end)
        filters = FiltersOut(group=r.filters.group, channel=r.filters.channel)
        b = r.backlog
        return cls(
            period=period,
            filters=filters,
            as_of=r.as_of,
            business_hours=business_hours,
            commitments=[CommitmentOut.of(c, period, filters) for c in r.commitments],
            backlog=BacklogOut(
                at=min(r.period.end, r.as_of),
                total=b.total,
                by_status=b.by_status,
                by_level=b.by_level,
                by_group=b.by_group,
                by_priority=b.by_priority,
                by_category=b.by_category,
            ),
            time_to_take_into_account={
                k: DurationsOut.of(v) for k, v in r.time_to_take_into_account.items()
            },
            time_to_resolve={k: DurationsOut.of(v) for k, v in r.time_to_resolve.items()},
            rates=RatesOut(
                escalation=RateOut.of(r.rates.escalation),
                routing=RateOut.of(r.rates.routing),
                reopen=RateOut.of(r.rates.reopen),
                sla_compliance=RateOut.of(r.rates.sla_compliance),
                sla_breaches=r.rates.sla_breaches,
            ),
            satisfaction=SatisfactionOut(
                responses=r.satisfaction.responses,
                average=r.satisfaction.average,
                satisfied=RateOut.of(r.satisfaction.satisfied),
            ),
            opened_per_day=r.opened_per_day,
            problem_candidates=[
                ProblemCandidateOut(
                    category=c.category,
                    scope=c.scope,
                    key=c.key,
                    incidents=c.incidents,
                    references=list(c.references),
                    first_at=c.first_at,
                    last_at=c.last_at,
                )
                for c in r.problem_candidates
            ],
            complaints=ComplaintsOut(
                received=r.complaints.received,
                resolved=r.complaints.resolved,
                open=r.complaints.open,
            ),
        )
