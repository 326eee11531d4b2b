"""Reading one stream, its version, and the whole log in pages."""

import uuid
from datetime import UTC, datetime, timedelta

from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore


def _stream() -> str:
    return f"ticket-{uuid.uuid4()}"


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
    assert recorded.category == "ticket"
    assert abs(recorded.recorded_at - datetime.now(UTC)) < timedelta(minutes=5)
    in_log = [e for e in await event_store.read_all(limit=100_000) if e.stream_id == stream]
    assert in_log == [recorded]


async def test_read_all_pages_continue_where_they_stopped(event_store: EventStore) -> None:
    stream = _stream()
    await event_store.append(
        stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": n}) for n in range(5)]
    )
    everything = await event_store.read_all(limit=100_000)
    pages, after = [], None
    while page := await event_store.read_all(after, limit=2):
        assert len(page) <= 2
        pages.extend(page)
        after = page[-1].log_position
    assert pages == everything
    assert [e.data["n"] for e in pages if e.stream_id == stream] == [0, 1, 2, 3, 4]
