"""The database itself refuses to change or remove stored events, whoever asks."""

import uuid

import asyncpg
import pytest

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.mark.parametrize(
    ("operation", "statement"),
    [
        ("UPDATE", "UPDATE eventstore.events SET type = 'Forged' WHERE stream_id = $1"),
        ("DELETE", "DELETE FROM eventstore.events WHERE stream_id = $1"),
        ("TRUNCATE", "TRUNCATE eventstore.events"),
    ],
)
async def test_changing_stored_events_is_refused(
    event_store: EventStore, database_url: str, operation: str, statement: str
) -> None:
    stream = f"storetest-{uuid.uuid4()}"
    await event_store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent("Noted", {"n": 1})])
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        args = [stream] if "$1" in statement else []
        with pytest.raises(asyncpg.PostgresError) as caught:
            await conn.execute(statement, *args)
    finally:
        await conn.close()
    assert caught.value.sqlstate == INSUFFICIENT_PRIVILEGE
    assert f"append-only: {operation} refused" in str(caught.value)
    stored = await event_store.read_stream(stream)
    assert [(e.type, e.data) for e in stored] == [("Noted", {"n": 1})]
