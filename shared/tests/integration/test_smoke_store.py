import uuid

from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore


async def test_append_then_read(event_store: EventStore) -> None:
    stream = f"ticket-{uuid.uuid4()}"
    events = [NewEvent(type="Noted", data={"n": i}) for i in range(3)]
    result = await event_store.append(stream, ExpectedVersion.NO_STREAM, events)
    assert (result.first_version, result.last_version) == (1, 3)
    again = await event_store.append(stream, ExpectedVersion.NO_STREAM, events)
    assert again.already_stored
    assert again.global_positions == result.global_positions
    read = await event_store.read_stream(stream)
    assert [e.data["n"] for e in read] == [0, 1, 2]
    log = await event_store.read_all()
    assert [e.event_id for e in log if e.stream_id == stream] == [e.event_id for e in events]
