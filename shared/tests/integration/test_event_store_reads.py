"""Reading one stream, its version, and the whole log in pages."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import (
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.raw import RawEvent, decode_body, read_all_raw
from helpdesk_shared.eventstore.store import EventStore

PATIENCE_S = 30.0


@pytest.fixture
async def empty_store(fresh_database_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="test-reads")
    yield EventStore(engine)
    await engine.dispose()


async def _in_log(store: EventStore, stream_id: str, count: int) -> list[RecordedEvent]:
    """The stream's events in the log, once all `count` show: `read_all` waits for every older
    transaction in the cluster (other test runs included) to end before showing an event."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE_S
    while True:
        found = [e for e in await store.read_all(limit=1_000_000) if e.stream_id == stream_id]
        if len(found) >= count or loop.time() > deadline:
            return found
        await asyncio.sleep(0.01)


def _stream() -> str:
    return f"storetest-{uuid.uuid4()}"


async def test_read_stream_between_versions(event_store: EventStore) -> None:
    stream = _stream()
    await event_store.append(
        stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": n}) for n in range(1, 6)]
    )
    assert [e.version for e in await event_store.read_stream(stream)] == [1, 2, 3, 4, 5]
    assert [e.version for e in await event_store.read_stream(stream, from_version=3)] == [3, 4, 5]
    middle = await event_store.read_stream(stream, from_version=2, to_version=4)
    assert [e.data["n"] for e in middle] == [2, 3, 4]
    assert await event_store.read_stream(stream, from_version=6) == []
    assert await event_store.read_stream(_stream()) == []


async def test_stream_version_follows_appends(event_store: EventStore) -> None:
    stream = _stream()
    assert await event_store.stream_version(stream) == 0
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {})])
    assert await event_store.stream_version(stream) == 1
    await event_store.append(stream, 1, [NewEvent("Noted", {}), NewEvent("Noted", {})])
    assert await event_store.stream_version(stream) == 3


async def test_recorded_events_keep_what_was_appended(event_store: EventStore) -> None:
    stream = _stream()
    metadata = EventMetadata(
        correlation_id="c-1", causation_id="k-1", actor="agent-7", extra={"ip": "10.0.0.1"}
    )
    new = NewEvent(
        "Noted",
        {"text": "écran noir", "nested": {"a": [1, 2]}},
        schema_version=2,
        metadata=metadata,
    )
    result = await event_store.append(stream, ExpectedVersion.NO_STREAM, [new])
    [recorded] = await event_store.read_stream(stream)
    assert recorded.event_id == new.event_id
    assert (recorded.type, recorded.schema_version, recorded.data) == ("Noted", 2, new.data)
    assert recorded.metadata == metadata
    assert recorded.global_position == result.global_positions[0]
    assert recorded.category == "storetest"
    assert abs(recorded.recorded_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert await _in_log(event_store, stream, 1) == [recorded]


async def test_read_all_pages_continue_where_they_stopped(empty_store: EventStore) -> None:
    stream = _stream()
    for n in range(5):
        await empty_store.append(stream, ExpectedVersion.ANY, [NewEvent("Noted", {"n": n})])
    assert len(await _in_log(empty_store, stream, 5)) == 5
    everything = await empty_store.read_all(limit=100_000)
    pages, after = [], None
    while page := await empty_store.read_all(after, limit=2):
        assert len(page) <= 2
        pages.extend(page)
        after = page[-1].log_position
    assert pages == everything
    assert [e.data["n"] for e in pages if e.stream_id == stream] == [0, 1, 2, 3, 4]


async def test_read_all_walks_the_log_order_index_instead_of_sorting(
    event_store: EventStore,
) -> None:
    """An unqualified ORDER BY would sort by the output alias and scan the whole table."""
    from helpdesk_shared.eventstore.reads import READ_ALL

    statement = READ_ALL.text
    params = {"tx_id": "0", "position": 0, "limit": 10}
    async with event_store.engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        plan = (await conn.execute(text(f"EXPLAIN {statement}"), params)).scalars().all()
    assert any("events_log_order" in line for line in plan), plan
    assert not any(line.strip().startswith("Sort") for line in plan), plan


async def test_the_raw_read_gives_read_alls_events_in_its_order_and_pages(
    empty_store: EventStore,
) -> None:
    """`read_all_raw` (the rebuilds' read): the same events, positions, bodies and schema
    versions as `read_all`, page after page, the body left as JSON text until decoded."""
    stream = _stream()
    for n in range(5):
        body = {"n": n, "nested": {"big": 2**70, "text": "é"}, "list": [1.5, None, True]}
        await empty_store.append(stream, ExpectedVersion.ANY, [NewEvent("Noted", body, 3)])
    assert len(await _in_log(empty_store, stream, 5)) == 5
    everything = await empty_store.read_all(limit=100_000)
    pages: list[RawEvent] = []
    after = None
    async with empty_store.engine.begin() as conn:
        while page := await read_all_raw(conn, after, limit=2):
            assert len(page) <= 2
            pages.extend(page)
            after = page[-1].log_position
    assert [
        (e.log_position, e.stream_id, e.version, e.type, e.schema_version, e.recorded_at)
        for e in everything
    ] == [
        (e.log_position, e.stream_id, e.version, e.type, e.schema_version, e.recorded_at)
        for e in pages
    ]
    assert [decode_body(e.data) for e in pages] == [e.data for e in everything]
