"""A report read from PostgreSQL a page at a time: the same figures as `kpi_report` over every
ticket loaded at once, and a peak of memory that does not grow with the period's tickets.

Real PostgreSQL; the peak is measured with `tracemalloc` (Python's allocations: the facts a
report holds, the rows the driver hands over, the figures).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.queries.facts import FactsQueries, facts_reading
from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.recurring import recurring_incidents
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.db import create_engine

MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
#: A period holding every ticket `varied_tickets` makes (the memory test's).
SPRING = Period(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
CALENDAR = BusinessCalendar()
FILTERS = [Filters(), Filters(group="desk"), Filters(channel="web"), Filters(group="n2")]
AS_OF = [datetime(2026, 3, 16, 10, 7, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC)]
#: What 3,000 more tickets may add to a report's peak: measured about 0.3 MiB (the durations
#: behind the percentiles, 8 bytes each, and the recurring groups' references, which are figures
#: of the report); reading every ticket in one page adds about 3.9 MiB, and two pages held at once
#: (the previous one kept while the next is read) about 1 MiB.
GROWTH_BOUND = 512 * 1024

#: The facts builders of `conftest.py` (`varied_tickets(n, seed)`, `calls_of(n)`).
Builder = Callable[..., Any]


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def save(engine: AsyncEngine, facts: list[TicketFacts] | list[CallFacts]) -> None:
    async with engine.begin() as conn:
        await FactsRepository(conn).save_all(facts)


async def test_the_paged_report_is_kpi_reports_over_every_ticket(
    engine: AsyncEngine, varied_tickets: Builder, calls_of: Builder
) -> None:
    await save(engine, varied_tickets(700))
    await save(engine, calls_of(120))
    for filters in FILTERS:
        for as_of in AS_OF:
            async with engine.connect() as conn:
                everything = FactsQueries(conn)
                tickets = await everything.tickets(
                    MARCH.end, MARCH.relevant_from(as_of), filters.group, filters.channel
                )
                calls = await everything.calls(MARCH.start, MARCH.end)
                paged = await kpis(
                    FactsQueries(conn, page_size=37),  # many pages
                    MARCH,
                    filters,
                    as_of=as_of,
                    calendar=CALENDAR,
                    recurrence_threshold=3,
                )
            expected = kpi_report(tickets, calls, MARCH, filters, as_of=as_of, calendar=CALENDAR)
            assert paged == expected, (filters, as_of)
    assert expected.problem_candidates  # the groups compared were not all empty


async def test_recurring_groups_counted_in_sql_are_the_domains(
    engine: AsyncEngine, varied_tickets: Builder
) -> None:
    """Ties of reception inside a group included: the references tie-break by reference."""
    tickets = varied_tickets(700)
    at = tickets[0].received_at
    tied = [
        TicketFacts(
            ticket_id=f"tie{n}",
            reference=reference,
            type="incident",
            channel="web",
            received_at=MARCH.start + timedelta(days=3),
            opened_at=at,
            initial_group="desk",
            initial_level=1,
            group="desk",
            level=1,
            category="printer",
            asset_tag="PRN-TIE",
        )
        for n, reference in enumerate(["INC-b", "INC-C", "INC-a", "INC-B"])
    ]
    await save(engine, tickets + tied)
    async with facts_reading(engine)() as facts:
        for threshold in (2, 3, 5):
            found = await facts.recurring(MARCH.end, MARCH.start, MARCH, threshold)
            assert found == recurring_incidents(tickets + tied, MARCH, threshold)
        found = await facts.recurring(MARCH.end, MARCH.start, MARCH, 4)
    printer = next(c for c in found if c.key == "PRN-TIE")
    assert printer.references == ("INC-B", "INC-C", "INC-a", "INC-b")


async def report_peak(engine: AsyncEngine) -> int:
    """Bytes a report allocates at its highest, beyond what was allocated before it."""
    reading = facts_reading(engine)
    async with reading() as facts:  # statement caches and the pool's connection, first
        await kpis(
            facts, SPRING, Filters(), as_of=SPRING.end, calendar=CALENDAR, recurrence_threshold=3
        )
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        async with reading() as facts:
            report = await kpis(
                facts,
                SPRING,
                Filters(),
                as_of=SPRING.end,
                calendar=CALENDAR,
                recurrence_threshold=3,
            )
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert sum(sum(day.values()) for day in report.opened_per_day.values()) > 0
    return peak


async def test_a_reports_peak_does_not_grow_with_the_periods_tickets(
    engine: AsyncEngine, varied_tickets: Builder
) -> None:
    tickets = varied_tickets(4000, seed=11)
    await save(engine, tickets[:1000])
    at_1000 = await report_peak(engine)
    await save(engine, tickets[1000:])
    at_4000 = await report_peak(engine)
    grown = at_4000 - at_1000
    assert grown < GROWTH_BOUND, (
        f"peak {at_1000 / 1024:.0f} KiB at 1,000 tickets, {at_4000 / 1024:.0f} KiB at 4,000"
    )
