"""One contract, two event stores: every test runs against PostgreSQL (the plugin's database)
and against the in-memory store, so handler tests on memory prove what holds in production.

Streams are named per test, so the PostgreSQL runs share the session's database safely.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    DuplicateEventIds,
    EventMetadata,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.store import EventStore as PostgresEventStore
from helpdesk_shared.kernel import EventStore


@pytest.fixture(params=["postgres", "memory"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """Which store: PostgreSQL on a database of its own per test (a copy of the migrated
    template, so that no other test's events are in the log these tests read), or memory."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("fresh_database_url")
    return url


@pytest.fixture
async def store(backend: str | None) -> AsyncIterator[EventStore]:
    if backend is None:
        yield MemoryEventStore()
        return
    engine = create_engine(backend, pool_size=2)
    try:
        yield PostgresEventStore(engine)
    finally:
        await engine.dispose()


def _stream() -> str:
    return f"contract-{uuid.uuid4()}"


def _events(count: int, tag: str = "n") -> list[NewEvent]:
    return [NewEvent(type="Noted", data={tag: n}) for n in range(count)]


async def test_appends_number_versions_from_one_and_read_back_in_order(store: EventStore) -> None:
    stream = _stream()
    first = await store.append(stream, ExpectedVersion.NO_STREAM, _events(2))
    second = await store.append(stream, 2, _events(3, "m"))
    assert (first.first_version, first.last_version) == (1, 2)
    assert (second.first_version, second.last_version) == (3, 5)
    read = await store.read_stream(stream)
    assert [e.version for e in read] == [1, 2, 3, 4, 5]
    assert [e.data for e in read][2:] == [{"m": 0}, {"m": 1}, {"m": 2}]
    assert [e.version for e in await store.read_stream(stream, 2, 4)] == [2, 3, 4]
    assert await store.stream_version(stream) == 5
    assert await store.stream_version(_stream()) == 0
    assert await store.read_stream(_stream()) == []


@pytest.mark.parametrize(
    "expected", [ExpectedVersion.NO_STREAM, 0, 1, 3], ids=["no-stream", "zero", "behind", "ahead"]
)
async def test_a_wrong_expected_version_is_a_conflict_naming_the_head(
    store: EventStore, expected: int | ExpectedVersion
) -> None:
    stream = _stream()
    await store.append(stream, ExpectedVersion.NO_STREAM, _events(2))
    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append(stream, expected, _events(1))
    assert conflict.value.actual == 2
    assert conflict.value.expected == expected
    assert await store.stream_version(stream) == 2


async def test_any_appends_at_the_end_whatever_the_version(store: EventStore) -> None:
    stream = _stream()
    await store.append(stream, ExpectedVersion.ANY, _events(1))
    result = await store.append(stream, ExpectedVersion.ANY, _events(2))
    assert (result.first_version, result.last_version) == (2, 3)


async def test_reappending_stored_ids_returns_the_original_positions(store: EventStore) -> None:
    stream = _stream()
    events = _events(2)
    first = await store.append(stream, ExpectedVersion.NO_STREAM, events)
    await store.append(stream, 2, _events(1))
    again = await store.append(stream, 0, events)
    assert again.already_stored
    assert not first.already_stored
    assert again.global_positions == first.global_positions
    assert (again.first_version, again.last_version) == (1, 2)
    assert await store.stream_version(stream) == 3


async def test_stored_ids_in_another_stream_are_refused(store: EventStore) -> None:
    events = _events(1)
    await store.append(_stream(), ExpectedVersion.NO_STREAM, events)
    with pytest.raises(ValueError, match="already stored elsewhere"):
        await store.append(_stream(), ExpectedVersion.NO_STREAM, events)


async def test_a_batch_repeating_an_event_id_is_a_caller_error_not_a_conflict(
    store: EventStore,
) -> None:
    stream = _stream()
    event = NewEvent(type="Noted", data={})
    with pytest.raises(DuplicateEventIds) as refused:
        await store.append(stream, ExpectedVersion.ANY, [event, _events(1)[0], event])
    assert not isinstance(refused.value, ConcurrencyConflict)
    assert refused.value.event_ids == [event.event_id]
    assert await store.stream_version(stream) == 0


async def test_an_empty_batch_or_a_negative_version_is_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        await store.append(_stream(), ExpectedVersion.ANY, [])
    with pytest.raises(ValueError, match=">= 0"):
        await store.append(_stream(), -1, _events(1))


async def test_read_all_gives_the_log_in_commit_order_after_a_position(
    store: EventStore,
) -> None:
    a, b = _stream(), _stream()
    await store.append(a, ExpectedVersion.NO_STREAM, _events(1))
    start = (await _read_until_visible(store, LogPosition.start(), {a}, count=1))[-1].log_position
    await store.append(b, ExpectedVersion.NO_STREAM, _events(2))
    await store.append(a, 1, _events(1))
    after = await _read_until_visible(store, start, {a, b}, count=3)
    ours = [(e.stream_id, e.version) for e in after if e.stream_id in (a, b)]
    assert ours == [(b, 1), (b, 2), (a, 2)]
    positions = [e.log_position for e in after]
    assert positions == sorted(positions)
    assert all(p > start for p in positions)
    assert len(await store.read_all(start, limit=2)) == 2
    assert await store.read_all(positions[-1]) == []


async def test_recorded_events_keep_type_data_metadata_and_id(store: EventStore) -> None:
    stream = _stream()
    event = NewEvent(type="Noted", data={"text": "é"}, schema_version=2)
    await store.append(stream, ExpectedVersion.NO_STREAM, [event])
    (recorded,) = await store.read_stream(stream)
    assert (recorded.event_id, recorded.type, recorded.schema_version, recorded.data) == (
        event.event_id,
        "Noted",
        2,
        {"text": "é"},
    )
    assert recorded.metadata == event.metadata
    assert recorded.category == "contract"


async def test_each_event_of_a_batch_keeps_its_own_data_and_metadata(store: EventStore) -> None:
    """A command's events share one metadata object, which the store encodes once: events with
    metadata of their own, before and after shared ones, must not be given a neighbour's."""
    stream = _stream()
    shared = EventMetadata(correlation_id="c-1", actor="agent", extra={"via": "mél"})
    metadatas = [
        EventMetadata(actor="first"),
        shared,
        shared,
        EventMetadata(actor="between", causation_id="c-0"),
        shared,
        EventMetadata(),
    ]
    events = [
        NewEvent(
            type="Noted", data={"n": n, "text": f"événement {n}", "nested": {"ok": [n]}}, metadata=m
        )
        for n, m in enumerate(metadatas)
    ]
    await store.append(stream, ExpectedVersion.NO_STREAM, events)
    recorded = await store.read_stream(stream)
    assert [r.data for r in recorded] == [e.data for e in events]
    assert [r.metadata for r in recorded] == metadatas


async def test_a_unit_of_work_carries_reads_and_appends(store: EventStore) -> None:
    stream = _stream()
    async with store.transaction() as conn:
        await store.append(stream, ExpectedVersion.NO_STREAM, _events(1), conn=conn)
        assert await store.stream_version(stream, conn=conn) == 1
    async with store.autocommit() as conn:
        await store.append(stream, 1, _events(1), conn=conn)
        assert len(await store.read_stream(stream, conn=conn)) == 2


async def test_on_an_autocommit_connection_a_conflict_and_a_retry_behave_as_alone(
    store: EventStore,
) -> None:
    stream = _stream()
    first = _events(2)
    async with store.autocommit() as conn:
        stored = await store.append(stream, ExpectedVersion.NO_STREAM, first, conn=conn)
        again = await store.append(stream, ExpectedVersion.NO_STREAM, first, conn=conn)
        assert again.already_stored
        assert again.global_positions == stored.global_positions
        with pytest.raises(ConcurrencyConflict) as stale:
            await store.append(stream, 1, _events(1), conn=conn)
        assert stale.value.actual == 2
        with pytest.raises(ConcurrencyConflict) as ahead:
            await store.append(stream, 5, _events(1), conn=conn)
        assert ahead.value.actual == 2
        assert (await store.append(stream, 2, _events(1), conn=conn)).last_version == 3


async def _read_until_visible(
    store: EventStore, start: LogPosition, streams: set[str], count: int
) -> list[RecordedEvent]:
    """The log after `start` once `count` events of `streams` show in it. On PostgreSQL the log
    stops short of any transaction still running on the cluster (a concurrent test run's, say):
    committed events become visible when those end, never out of order."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        after = await _read_from(store, start)
        if sum(e.stream_id in streams for e in after) >= count:
            return after
        if asyncio.get_running_loop().time() > deadline:
            return after
        await asyncio.sleep(0.05)


async def _read_from(store: EventStore, start: LogPosition) -> list[RecordedEvent]:
    """Every event after `start` the log shows now, page after page."""
    events: list[RecordedEvent] = []
    while page := await store.read_all(events[-1].log_position if events else start, limit=1000):
        events += page
    return events
