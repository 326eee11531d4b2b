"""The projection against the real PostgreSQL: idempotent, order-independent, and rebuildable.

The live path (the consumer's handler, `project`) and the replay (`replay`, as run by
`python -m helpdesk_metrics.entrypoints.cli replay`) must give the same figures for the same
stored events, whatever the order and number of deliveries.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.adapters.queries.facts import FactsQueries, facts_reading
from helpdesk_metrics.adapters.queries.totals import read_totals
from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.application.projection import project, project_all, record_of, replay
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import fold_ticket
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.totals import bounded, timed, totals_of
from helpdesk_metrics.entrypoints.cli import rebuild
from helpdesk_metrics.settings import Settings
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_testkit.broker import eventually


class Desk(Protocol):
    """The scenario of `conftest.py` (its `Stored` events)."""

    events: list[Any]


MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar()


@pytest.fixture
async def own_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="metrics-tests")
    yield engine
    await engine.dispose()


async def store_events(store: EventStore, desk: Desk) -> list[RecordedEvent]:
    """Append the desk's events; return them as read back from the whole log.

    The log shows an event once every older transaction of the server has ended (other test runs
    share it), so wait until all of them are visible.
    """
    for stored in desk.events:
        await store.append(stored.stream_id, ExpectedVersion.ANY, [stored.event])
    seen: list[RecordedEvent] = []

    async def all_visible() -> bool:
        seen[:] = await store.read_all(limit=10_000)
        return len(seen) == len(desk.events)

    await eventually(all_visible, what="the appended events in the log")
    return seen


async def report(engine: AsyncEngine, filters: Filters | None = None) -> KpiReport:
    async with facts_reading(engine)() as facts:
        return await kpis(
            facts,
            MARCH,
            filters or Filters(),
            as_of=NOON,
            calendar=CALENDAR,
            recurrence_threshold=3,
        )


async def deliver(engine: AsyncEngine, events: list[RecordedEvent]) -> int:
    changed = 0
    projection = PostgresProjection(engine)
    for event in events:
        async with projection.begin() as unit:
            changed += await project(unit, record_of(event), CALENDAR)
    return changed


async def test_live_figures_have_the_worked_values(
    own_engine: AsyncEngine, busy_morning: Callable[[], Desk]
) -> None:
    recorded = await store_events(EventStore(own_engine), busy_morning())
    assert await deliver(own_engine, recorded) == len(recorded)
    figures = {c.name: c for c in (await report(own_engine)).commitments}
    worked = {
        "call_abandonment": (2, 10, False),
        # 8 answered (7 within 30 s) + 1 abandoned after 40 s; the one abandoned at 3 s is loss.
        "calls_answered_within_30s": (7, 9, False),
        "mail_web_taken_within_30min": (8, 10, False),
        "resolved_by_single_desk": (4, 6, True),
    }
    for name, (numerator, denominator, met) in worked.items():
        assert (figures[name].numerator, figures[name].denominator) == (numerator, denominator)
        assert figures[name].met is met, name
    full = await report(own_engine)
    assert full.rates.escalation.count == 2
    assert full.backlog.total == 12  # 16 received, 4 closed
    assert [(c.scope, c.key, c.incidents) for c in full.problem_candidates][:2] == [
        ("department", "DAF", 16),
        ("asset", "PRN-1", 4),
    ]
    desk_only = await report(own_engine, Filters(group="desk"))
    assert desk_only.backlog.by_group == {"desk": 10}


async def test_redelivery_and_disorder_across_tickets_change_nothing(
    own_engine: AsyncEngine, busy_morning: Callable[[], Desk]
) -> None:
    recorded = await store_events(EventStore(own_engine), busy_morning())
    await deliver(own_engine, recorded)
    in_order_figures = await report(own_engine)
    assert await deliver(own_engine, recorded) == 0  # every event a second time: no change
    assert await report(own_engine) == in_order_figures

    shuffled = recorded + recorded[::3]
    random.Random(42).shuffle(shuffled)
    async with own_engine.begin() as conn:  # start again, with a shuffled, duplicated delivery
        await conn.exec_driver_sql("TRUNCATE metrics.ticket_facts, metrics.call_facts")
    await deliver(own_engine, shuffled)
    assert await report(own_engine) == in_order_figures


async def test_replay_rebuilds_the_live_figures(
    own_engine: AsyncEngine, fresh_database_url: str, busy_morning: Callable[[], Desk]
) -> None:
    recorded = await store_events(EventStore(own_engine), busy_morning())
    shuffled = recorded + recorded[:7]
    random.Random(6).shuffle(shuffled)
    await deliver(own_engine, shuffled)
    live = await report(own_engine)
    live_by_group = await report(own_engine, Filters(group="n2-poste"))

    result = await rebuild(Settings(database_url=fresh_database_url))
    assert (result.events_read, result.tickets, result.calls) == (len(recorded), 16, 10)
    assert await report(own_engine) == live
    assert await report(own_engine, Filters(group="n2-poste")) == live_by_group

    async with PostgresProjection(own_engine).begin() as unit:  # small pages: same figures
        await replay(unit, CALENDAR, page_size=3)
    assert await report(own_engine) == live


async def deliver_in_batches(engine: AsyncEngine, events: list[RecordedEvent], seed: int) -> int:
    """The events in batches of 1 to 40 (as the consumer hands them over), one unit each."""
    changed, start, sizes = 0, 0, random.Random(seed)
    projection = PostgresProjection(engine)
    while start < len(events):
        size = sizes.randint(1, 40)
        async with projection.begin() as unit:
            batch = [record_of(e) for e in events[start : start + size]]
            changed += await project_all(unit, batch, CALENDAR)
        start += size
    return changed


async def test_batches_in_any_order_give_the_rebuilt_figures(
    own_engine: AsyncEngine, fresh_database_url: str, busy_morning: Callable[[], Desk]
) -> None:
    """A batch holds several events of one stream (evolved in memory, saved once), redeliveries
    and events ahead of missing ones (folded from the store): the figures are the rebuild's."""
    recorded = await store_events(EventStore(own_engine), busy_morning())
    assert await deliver_in_batches(own_engine, recorded, seed=1) == len(recorded)
    in_order = await report(own_engine)
    assert await deliver_in_batches(own_engine, recorded, seed=2) == 0
    shuffled = recorded + recorded[::2]
    random.Random(7).shuffle(shuffled)
    async with own_engine.begin() as conn:
        await conn.exec_driver_sql("TRUNCATE metrics.ticket_facts, metrics.call_facts")
    await deliver_in_batches(own_engine, shuffled, seed=3)
    assert await report(own_engine) == in_order

    await rebuild(Settings(database_url=fresh_database_url))
    assert await report(own_engine) == in_order


async def test_events_of_other_categories_are_ignored(own_engine: AsyncEngine) -> None:
    record = record_of(
        RecordedEvent(
            global_position=1,
            tx_id=1,
            stream_id="problem-1",
            version=1,
            event_id=uuid.uuid4(),
            type="ProblemOpened",
            schema_version=1,
            data={},
            metadata=EventMetadata(),
            recorded_at=NOON - timedelta(hours=1),
        )
    )
    async with PostgresProjection(own_engine).begin() as unit:
        assert not await project(unit, record, CALENDAR)


async def test_an_event_ahead_of_a_missing_one_folds_the_stream_from_the_store(
    own_engine: AsyncEngine, busy_morning: Callable[[], Desk]
) -> None:
    store = EventStore(own_engine)
    recorded = await store_events(store, busy_morning())
    by_stream: dict[str, list[RecordedEvent]] = {}
    for event in recorded:
        by_stream.setdefault(event.stream_id, []).append(event)
    stream = next(s for s in by_stream.values() if s[0].category == "ticket" and len(s) >= 4)
    records = [record_of(e) for e in stream]
    assert await deliver(own_engine, stream[:1]) == 1
    # Version 3 while version 2 is not folded yet (parked, say): the stream is read again.
    assert await deliver(own_engine, stream[2:3]) == 1
    async with own_engine.connect() as conn:
        facts = await FactsRepository(conn).ticket(stream[0].stream_id.partition("-")[2])
    folded = fold_ticket(records)
    assert folded is not None
    assert facts == timed(folded, CALENDAR)  # every stored version, the later ones included
    assert await deliver(own_engine, stream[1:2]) == 0  # version 2, replayed later: folded
    assert await deliver(own_engine, stream) == 0


async def test_a_report_reads_no_ticket_closed_before_its_period(own_engine: AsyncEngine) -> None:
    opened = NOON - timedelta(days=40)
    old = fold_ticket([ticket_event(1, "TicketOpened", opened), ticket_event(2, "Closed", opened)])
    current = fold_ticket([ticket_event(1, "TicketOpened", opened, ticket="t-open")])
    assert old is not None
    assert current is not None
    async with own_engine.begin() as conn:
        for facts in (old, current):
            await FactsRepository(conn).save(facts)
        loaded = await FactsQueries(conn).tickets(MARCH.end, MARCH.relevant_from(NOON))
    assert [t.ticket_id for t in loaded] == ["t-open"]


def ticket_event(version: int, type_: str, at: datetime, ticket: str = "t-old") -> EventRecord:
    data: dict[str, Any] = {"ticket_id": ticket, "occurred_at": at.isoformat(), "code": "resolved"}
    return EventRecord(f"ticket-{ticket}", version, type_, data, at)


async def test_the_database_totals_equal_those_of_the_facts_in_memory(
    own_engine: AsyncEngine, busy_morning: Callable[[], Desk]
) -> None:
    """`/metrics` sums in SQL what `totals_of` counts over the facts: the same figures."""
    recorded = await store_events(EventStore(own_engine), busy_morning())
    await deliver(own_engine, recorded)
    async with own_engine.connect() as conn:
        queries = FactsQueries(conn)
        tickets = await queries.tickets(MARCH.end, MARCH.start - timedelta(days=3650))
        calls = await queries.calls(MARCH.start, MARCH.end)
        in_database = await read_totals(conn)
    in_memory = totals_of(tickets, calls)
    assert in_database == in_memory
    assert sum(in_database.opened.values()) == 16
    assert sum(h.count for h in in_database.take.values()) > 0
    assert in_database.waits.count > 0
    one_label = bounded(in_database, 1)  # one group and one priority keep their name
    assert len({group for _, _, group, _ in one_label.backlog} - {"other"}) == 1
    assert len(one_label.take.keys() - {"other"}) <= 1
    assert sum(one_label.backlog.values()) == sum(in_database.backlog.values())
    assert sum(h.count for h in one_label.take.values()) == sum(
        h.count for h in in_database.take.values()
    )


async def test_reading_the_facts_keeps_no_transaction_open_while_the_report_is_computed(
    engine: AsyncEngine,
) -> None:
    """A report computed for long after its reads must not sit idle in a transaction (the
    server's timeout ends such a connection: `/v1/kpis` failed on a large desk)."""
    async with engine.connect() as observer, facts_reading(engine)() as facts:
        await facts.tickets(NOON, NOON - timedelta(days=30))
        pid = (await facts._conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        state = (
            await observer.exec_driver_sql(
                f"SELECT state FROM pg_stat_activity WHERE pid = {int(pid)}"  # noqa: S608
            )
        ).scalar_one()
    assert state == "idle"
