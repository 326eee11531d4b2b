"""Optimistic concurrency of `EventStore.append` against the real PostgreSQL.

Each test races real connections (one per task) so that the database, not the Python code,
decides who wins.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ConcurrencyConflict,
    ExpectedVersion,
    NewEvent,
)
from helpdesk_shared.eventstore.store import EventStore

WRITERS = 20


@pytest.fixture
async def wide_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """One connection per racing writer, so that they really run at the same time."""
    eng = create_engine(database_url, pool_size=WRITERS, application_name="test-concurrency")
    yield eng
    await eng.dispose()


def _stream() -> str:
    return f"storetest-{uuid.uuid4()}"


def _noted(n: int) -> NewEvent:
    return NewEvent(type="Noted", data={"n": n})


async def _stored_rows(engine: AsyncEngine, stream_id: str) -> int:
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM eventstore.events WHERE stream_id = :s")
        return int((await conn.execute(query, {"s": stream_id})).scalar_one())


async def _race(
    store: EventStore, stream_id: str, expected: int | ExpectedVersion
) -> list[AppendResult | BaseException]:
    start = asyncio.Event()

    async def writer(n: int) -> AppendResult:
        await start.wait()
        return await store.append(stream_id, expected, [_noted(n)])

    tasks = [asyncio.create_task(writer(n)) for n in range(WRITERS)]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("expected", [ExpectedVersion.NO_STREAM, 3], ids=["no-stream", "exact"])
async def test_same_expected_version_race_has_one_winner(
    wide_engine: AsyncEngine, expected: int | ExpectedVersion
) -> None:
    store = EventStore(wide_engine)
    stream = _stream()
    if expected == 3:
        await store.append(stream, ExpectedVersion.NO_STREAM, [_noted(-i) for i in range(3)])
    outcomes = await _race(store, stream, expected)
    wins = [o for o in outcomes if isinstance(o, AppendResult)]
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(wins) == 1, outcomes
    assert len(conflicts) == WRITERS - 1, outcomes
    base = 0 if expected is ExpectedVersion.NO_STREAM else 3
    assert await _stored_rows(wide_engine, stream) == base + len(wins)
    assert await store.stream_version(stream) == base + 1
    assert all(c.actual in (base + 1, -1) for c in conflicts)


async def test_no_stream_on_an_existing_stream_conflicts(event_store: EventStore) -> None:
    stream = _stream()
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [_noted(1)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await event_store.append(stream, ExpectedVersion.NO_STREAM, [_noted(2)])
    assert caught.value.actual == 1
    assert await event_store.stream_version(stream) == 1


async def test_exact_version_beyond_the_head_conflicts_without_a_gap(
    event_store: EventStore,
) -> None:
    stream = _stream()
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [_noted(1), _noted(2)])
    with pytest.raises(ConcurrencyConflict) as caught:
        await event_store.append(stream, 5, [_noted(3)])
    assert (caught.value.expected, caught.value.actual) == (5, 2)
    with pytest.raises(ConcurrencyConflict):
        await event_store.append(stream, 1, [_noted(3)])
    assert [e.version for e in await event_store.read_stream(stream)] == [1, 2]
    await event_store.append(stream, 2, [_noted(3)])
    assert [e.version for e in await event_store.read_stream(stream)] == [1, 2, 3]


async def test_exact_version_on_a_missing_stream_conflicts(event_store: EventStore) -> None:
    stream = _stream()
    with pytest.raises(ConcurrencyConflict) as caught:
        await event_store.append(stream, 1, [_noted(1)])
    assert caught.value.actual == 0
    assert await event_store.read_stream(stream) == []


async def test_concurrent_any_appends_all_land_contiguously(wide_engine: AsyncEngine) -> None:
    store = EventStore(wide_engine)
    stream = _stream()
    outcomes = await _race(store, stream, ExpectedVersion.ANY)
    assert all(isinstance(o, AppendResult) for o in outcomes), outcomes
    stored = await store.read_stream(stream)
    assert [e.version for e in stored] == list(range(1, WRITERS + 1))
    assert sorted(e.data["n"] for e in stored) == list(range(WRITERS))
    versions = sorted(o.first_version for o in outcomes if isinstance(o, AppendResult))
    assert versions == list(range(1, WRITERS + 1))


async def test_any_appends_of_batches_stay_together(wide_engine: AsyncEngine) -> None:
    store = EventStore(wide_engine)
    stream = _stream()

    async def writer(n: int) -> AppendResult:
        return await store.append(stream, ExpectedVersion.ANY, [_noted(n), _noted(n)])

    results = await asyncio.gather(*(writer(n) for n in range(8)))
    stored = await store.read_stream(stream)
    assert [e.version for e in stored] == list(range(1, 17))
    for result in results:
        pair = stored[result.first_version - 1 : result.last_version]
        assert len({e.data["n"] for e in pair}) == 1
