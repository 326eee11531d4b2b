"""A pooled connection broken while idle (a PostgreSQL restart, a killed backend) is replaced at
checkout: the request that takes it from the pool never sees the failure."""

import uuid

from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, stream_id
from helpdesk_shared.eventstore.store import EventStore


async def test_a_connection_killed_in_the_pool_is_replaced_before_use(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    killer = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with killer.connect() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            assert killed.scalar_one() is True
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_an_append_on_a_connection_killed_in_the_pool_is_stored_once(
    database_url: str,
) -> None:
    """The store's own appends skip the checkout ping: a dead connection is found by the append
    itself, dropped, and the append run again on a live one (idempotent by event id). Every
    connection of the engine is killed, its own asyncpg ones included (what a restart does)."""
    victim = f"checkout-{uuid.uuid4().hex[:8]}"
    engine = create_engine(database_url, pool_size=1, application_name=victim)
    killer = create_engine(database_url, pool_size=1)
    store = EventStore(engine)
    stream = stream_id("checkout", uuid.uuid4())
    try:
        await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent(type="Noted", data={})])
        async with killer.connect() as conn:
            killed = await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :victim"
                ),
                {"victim": victim},
            )
            assert killed.scalar_one() >= 1
        result = await store.append(stream, 1, [NewEvent(type="Noted", data={"n": 2})])
        assert (result.first_version, result.already_stored) == (2, False)
        assert [e.version for e in await store.read_stream(stream)] == [1, 2]
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_a_stream_read_on_a_connection_killed_in_the_pool_is_answered(
    database_url: str,
) -> None:
    """A read of a stream without a connection also skips the ping (a command's top-up read): a
    dead connection is found by the read itself, dropped, and the read run again on a live one."""
    engine = create_engine(database_url, pool_size=1)
    killer = create_engine(database_url, pool_size=1)
    store = EventStore(engine)
    stream = stream_id("checkout", uuid.uuid4())
    try:
        await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent(type="Noted", data={})])
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        [event] = await store.read_stream(stream)
        assert (event.version, event.type, event.stream_id) == (1, "Noted", stream)
        assert isinstance(event.event_id, uuid.UUID)
    finally:
        await engine.dispose()
        await killer.dispose()
