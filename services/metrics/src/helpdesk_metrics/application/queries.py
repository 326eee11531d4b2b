"""Reading the figures: the facts a period needs, handed to the pure domain computations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.domain.commitments import DEFAULT_RULES, CommitmentRules, Filters, Period
from helpdesk_metrics.domain.report import KpiReport, kpi_report
from helpdesk_shared.calendar import BusinessCalendar


async def kpis(
    conn: AsyncConnection,
    period: Period,
    filters: Filters,
    *,
    as_of: datetime,
    calendar: BusinessCalendar,
    recurrence_threshold: int,
    rules: CommitmentRules = DEFAULT_RULES,
) -> KpiReport:
    """Every indicator over `period` for the tickets kept by `filters`."""
    repository = FactsRepository(conn)
    tickets = await repository.tickets(
        period.end, period.relevant_from(as_of), filters.group, filters.channel
    )
    calls = await repository.calls(period.start, period.end) if filters.includes_calls else []
    return kpi_report(
        tickets,
        calls,
        period,
        filters,
        as_of=as_of,
        calendar=calendar,
        recurrence_threshold=recurrence_threshold,
        rules=rules,
    )
