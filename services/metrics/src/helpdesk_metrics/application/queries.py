"""Reading the figures: the facts a period needs, folded a page at a time by the pure domain."""

from __future__ import annotations

from datetime import datetime

from helpdesk_metrics.application.ports import FactsReader
from helpdesk_metrics.domain.commitments import DEFAULT_RULES, CommitmentRules, Filters, Period
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.report_fold import ReportFold
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
    received_before: datetime | None = None,
    calls_before: datetime | None = None,
) -> KpiReport:
    """Every indicator over `period` for the tickets kept by `filters`, folded a page at a time
    (`ReportFold`) in memory that does not grow with their number.

    The tickets are read up to `received_before` and the calls up to `calls_before` (both the
    period's end unless told otherwise: `/metrics` reads a day beyond it).
    """
    tickets_before = received_before or period.end
    relevant_from = period.relevant_from(as_of)
    group, channel = filters.group, filters.channel
    fold = ReportFold(period, filters, as_of, calendar)
    async for page in facts.ticket_pages(tickets_before, relevant_from, group, channel):
        fold.add(page)
        del page  # the loop's name would keep it while the next page is read
    candidates = await facts.recurring(
        tickets_before, relevant_from, period, recurrence_threshold, group, channel
    )
    calls = (
        await facts.calls(period.start, calls_before or period.end)
        if filters.includes_calls
        else []
    )
    return fold.report(calls, candidates, rules)
