"""A report read from PostgreSQL a page at a time: the same figures as `kpi_report` over every
ticket loaded at once, and a peak of memory that does not grow with the period's tickets.

Real PostgreSQL; the peak is measured with `tracemalloc` (Python's allocations: the facts a
report holds, the rows the driver hands over, the figures).
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.queries.facts import FactsQueries, facts_reading
from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import Status, TicketFacts
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


# The same varied facts as the unit test of `ReportFold` (test modules do not import each other).
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


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def save(engine: AsyncEngine, facts: list[TicketFacts] | list[CallFacts]) -> None:
    async with engine.begin() as conn:
        await FactsRepository(conn).save_all(facts)


async def test_the_paged_report_is_kpi_reports_over_every_ticket(engine: AsyncEngine) -> None:
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


async def test_recurring_groups_counted_in_sql_are_the_domains(engine: AsyncEngine) -> None:
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
    engine: AsyncEngine,
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
