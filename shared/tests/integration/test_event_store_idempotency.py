"""Re-appending stored event ids is a no-op that answers with the original positions."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import AppendResult, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore

RACERS = 10


@pytest.fixture
async def wide_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url, pool_size=RACERS, application_name="test-idempotency")
    yield eng
    await eng.dispose()


def _stream() -> str:
    return f"storetest-{uuid.uuid4()}"


def _events(count: int) -> list[NewEvent]:
    return [NewEvent(type="Noted", data={"n": n}) for n in range(count)]


async def _rows(engine: AsyncEngine, stream_id: str) -> int:
    async with engine.connect() as conn:
        query = text("SELECT count(*) FROM eventstore.events WHERE stream_id = :s")
        return int((await conn.execute(query, {"s": stream_id})).scalar_one())


@pytest.mark.parametrize(
    "retry_expectation",
    [ExpectedVersion.NO_STREAM, 0, 7, ExpectedVersion.ANY],
    ids=["no-stream", "zero", "stale-exact", "any"],
)
async def test_reappending_stored_ids_returns_original_positions(
    engine: AsyncEngine, retry_expectation: int | ExpectedVersion
) -> None:
    store = EventStore(engine)
    stream = _stream()
    events = _events(3)
    first = await store.append(stream, ExpectedVersion.NO_STREAM, events)
    await store.append(stream, ExpectedVersion.ANY, _events(1))  # the stream moved on since
    again = await store.append(stream, retry_expectation, events)
    assert again.already_stored
    assert not first.already_stored
    assert again.global_positions == first.global_positions
    assert (again.first_version, again.last_version) == (1, 3)
    assert await _rows(engine, stream) == 4


async def test_reappend_inside_the_callers_transaction_is_a_no_op(engine: AsyncEngine) -> None:
    store = EventStore(engine)
    stream = _stream()
    events = _events(2)
    async with engine.begin() as conn:
        first = await store.append(stream, ExpectedVersion.NO_STREAM, events, conn=conn)
        again = await store.append(stream, ExpectedVersion.NO_STREAM, events, conn=conn)
    assert again.already_stored
    assert again.global_positions == first.global_positions
    assert await _rows(engine, stream) == 2


@pytest.mark.parametrize(
    "expected", [ExpectedVersion.NO_STREAM, ExpectedVersion.ANY], ids=["no-stream", "any"]
)
async def test_reappend_racing_with_itself_stores_once(
    wide_engine: AsyncEngine, expected: ExpectedVersion
) -> None:
    store = EventStore(wide_engine)
    stream = _stream()
    events = _events(3)
    start = asyncio.Event()

    async def retry() -> AppendResult:
        await start.wait()
        return await store.append(stream, expected, events)

    tasks = [asyncio.create_task(retry()) for _ in range(RACERS)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sum(not r.already_stored for r in results) == 1
    assert len({r.global_positions for r in results}) == 1
    assert await _rows(wide_engine, stream) == len(events)


async def test_ids_stored_in_another_stream_are_refused(event_store: EventStore) -> None:
    events = _events(1)
    await event_store.append(_stream(), ExpectedVersion.NO_STREAM, events)
    other = _stream()
    with pytest.raises(ValueError, match="already stored elsewhere"):
        await event_store.append(other, ExpectedVersion.NO_STREAM, events)
    assert await event_store.read_stream(other) == []


async def test_partly_stored_ids_are_refused(event_store: EventStore) -> None:
    stream = _stream()
    stored = _events(1)
    await event_store.append(stream, ExpectedVersion.NO_STREAM, stored)
    with pytest.raises(ValueError, match="already stored"):
        await event_store.append(stream, 1, [*stored, *_events(1)])
    assert await event_store.stream_version(stream) == 1
