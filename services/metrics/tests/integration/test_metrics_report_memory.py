"""Repeated reports over the same facts keep nothing: `/v1/kpis` and `/metrics` hold a period's
tickets only while computing, so a long-running process does not grow with the reports it served.

Real PostgreSQL; the retained Python memory is measured with `tracemalloc`.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.queries.facts import facts_reading
from helpdesk_metrics.adapters.queries.figures import FiguresCollector
from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import fold_ticket
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.db import create_engine

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
NOW = datetime(2026, 3, 31, tzinfo=UTC)
MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), NOW)
CALENDAR = BusinessCalendar()
TICKETS = 600
#: What 20 more reports may leave behind: about 15 KiB measured (caches settling); keeping
#: each report object instead leaves about 90 KiB a report here (1.8 MiB for the 20).
BOUND = 48 * 1024


def events_of(n: int) -> list[EventRecord]:
    """Ticket n: opened, taken, resolved and (every other one) closed, minutes apart."""
    stream = f"ticket-{n:08d}"
    at = START + timedelta(minutes=n)
    opened = {
        "ticket_id": f"{n:08d}",
        "reference": f"INC-{n:07d}",
        "channel": ("web", "email", "phone")[n % 3],
        "category": f"c{n % 12}",
        "requester": {"department": f"D{n % 40}"},
        "pre_qualification": {"outcome": "admissible"},
    }
    kinds = [("TicketOpened", opened), ("TicketTaken", {}), ("TicketResolved", {})]
    kinds += [("TicketClosed", {"code": "resolved"})] if n % 2 else []
    return [
        EventRecord(
            stream,
            v,
            type_,
            {**data, "occurred_at": (at + timedelta(minutes=20 * v)).isoformat()},
            at,
        )
        for v, (type_, data) in enumerate(kinds, 1)
    ]


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=2)
    facts = [fold_ticket(events_of(n), CALENDAR) for n in range(TICKETS)]
    async with engine.begin() as conn:
        await FactsRepository(conn).save_all([f for f in facts if f is not None])
    yield engine
    await engine.dispose()


async def test_repeated_reports_do_not_grow_retained_memory(engine: AsyncEngine) -> None:
    reading = facts_reading(engine)
    collector = FiguresCollector(
        engine,
        calendar=CALENDAR,
        window=timedelta(days=30),
        recurrence_threshold=5,
        max_age=0,
        clock=lambda: NOW,
    )

    async def one_round() -> int:
        async with reading() as facts:
            report = await kpis(
                facts, MARCH, Filters(), as_of=NOW, calendar=CALENDAR, recurrence_threshold=5
            )
        await collector.refresh(force=True)
        list(collector.collect())
        return sum(sum(day.values()) for day in report.opened_per_day.values())

    async def retained_after(rounds: int) -> int:
        for _ in range(rounds):
            assert await one_round() == TICKETS
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    tracemalloc.start()
    try:
        settled = await retained_after(5)  # statement caches, pool connections, first snapshot
        grown = await retained_after(20) - settled
    finally:
        tracemalloc.stop()
    assert grown < BOUND, f"20 reports left {grown / 1024:.0f} KiB behind"
