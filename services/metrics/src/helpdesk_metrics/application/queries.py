"""Reading the figures: the facts a period needs, handed to the pure domain computations."""

from __future__ import annotations

from datetime import datetime

from helpdesk_metrics.application.ports import FactsReader
from helpdesk_metrics.domain.commitments import DEFAULT_RULES, CommitmentRules, Filters, Period
from helpdesk_metrics.domain.report import KpiReport, kpi_report
from helpdesk_shared.calendar import BusinessCalendar


async def kpis(
    facts: FactsReader,
    period: Period,
    filters: Filters,
    *,
    as_of: datetime,
    calendar: BusinessCalendar,
    recurrence_threshold: int,
    rules: CommitmentRules = DEFAULT_RULES,
) -> KpiReport:
    """Every indicator over `period` for the tickets kept by `filters`."""
    tickets = await facts.tickets(
        period.end, period.relevant_from(as_of), filters.group, filters.channel
    )
    calls = await facts.calls(period.start, period.end) if filters.includes_calls else []
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
