"""The log's visibility gauges on the real PostgreSQL: an open writer shows, then goes.

A transaction holding a transaction id holds back every reader of the log (ADR 0003). While one
is open the gauges report its age, growing, and the events committed after it as held back; once
it ends both fall back. Other test runs share the cluster, so the tests wait for values to fall
below what was seen instead of expecting zero at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.eventstore.visibility import LogVisibility
from helpdesk_shared.relay.metrics import RelayMetrics

PATIENCE_S = 30.0
OLDEST_TRANSACTION = "helpdesk_postgres_oldest_transaction_age_seconds"
OLDEST_WRITER = "helpdesk_eventstore_oldest_writer_age_seconds"
HELD_BACK = "helpdesk_eventstore_held_back_events"
HELD_BACK_AGE = "helpdesk_eventstore_held_back_age_seconds"


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(fresh_database_url, pool_size=3, application_name="test-visibility")
    yield eng
    await eng.dispose()


async def _scrape(visibility: LogVisibility, registry: CollectorRegistry) -> dict[str, float]:
    """Measure, then read the gauges as Prometheus would: from the exposition text."""
    await visibility.measure()
    exposed = generate_latest(registry).decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposed)
        for sample in family.samples
        if sample.name in (OLDEST_TRANSACTION, OLDEST_WRITER, HELD_BACK, HELD_BACK_AGE)
    }


async def _until(
    scrape: Callable[[], Awaitable[dict[str, float]]], done: Callable[[dict[str, float]], bool]
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    while not done(values := await scrape()):
        assert loop.time() < deadline, values
        await asyncio.sleep(0.05)
    return values


async def test_an_open_writer_and_the_events_it_holds_back_show_until_it_ends(
    engine: AsyncEngine,
) -> None:
    registry = RelayMetrics().registry  # as the relay serves them
    visibility = LogVisibility(engine, registry)
    store = EventStore(engine)

    async def scrape() -> dict[str, float]:
        return await _scrape(visibility, registry)

    async with engine.connect() as writer:
        transaction = await writer.begin()
        await writer.execute(text("SELECT pg_current_xact_id()"))  # holds an xid from now on
        first = await _until(scrape, lambda v: v[OLDEST_WRITER] > 0)
        assert first[OLDEST_TRANSACTION] >= first[OLDEST_WRITER] > 0
        grown = await _until(scrape, lambda v: v[OLDEST_WRITER] > first[OLDEST_WRITER])
        assert grown[OLDEST_TRANSACTION] > first[OLDEST_TRANSACTION]

        stream = f"visibility-{uuid.uuid4()}"
        await store.append(stream, ExpectedVersion.ANY, [NewEvent(type="Noted", data={})])
        held = await scrape()
        assert held[HELD_BACK] == 1  # committed, but not readable while the writer is open
        assert held[HELD_BACK_AGE] > 0
        assert await store.read_all() == []
        await transaction.commit()

    after = await _until(
        scrape,
        lambda v: (
            v[HELD_BACK] == 0
            and v[OLDEST_WRITER] < held[OLDEST_WRITER]
            and v[OLDEST_TRANSACTION] < held[OLDEST_TRANSACTION]
        ),
    )
    assert after[HELD_BACK_AGE] == 0
    assert len(await store.read_all()) == 1


async def test_a_long_reader_counts_as_an_open_transaction_but_holds_nothing_back(
    engine: AsyncEngine,
) -> None:
    registry = CollectorRegistry()
    visibility = LogVisibility(engine, registry)

    async def scrape() -> dict[str, float]:
        return await _scrape(visibility, registry)

    async with engine.connect() as reader:
        await reader.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await reader.execute(text("SELECT count(*) FROM eventstore.events"))  # keeps a snapshot
        await asyncio.sleep(3.0)  # older than the short transactions of other test runs
        own_age = text("SELECT extract(epoch FROM clock_timestamp() - now())")
        age = float((await reader.execute(own_age)).scalar_one())
        seen = await scrape()
        assert seen[OLDEST_TRANSACTION] >= age > 0  # the reader is counted (or an older one)
        assert seen[HELD_BACK] == 0
        await reader.rollback()
    await _until(scrape, lambda v: v[OLDEST_TRANSACTION] < seen[OLDEST_TRANSACTION])
