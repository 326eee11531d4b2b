"""A pooled connection broken while idle (a PostgreSQL restart, a killed backend) is replaced at
checkout: the request that takes it from the pool never sees the failure."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import NewEvent

from .conftest import OwnStores


async def test_a_connection_killed_in_the_pool_is_replaced_before_use(
    database_url: str, killer: AsyncEngine
) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        async with killer.connect() as conn:
            killed = await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            assert killed.scalar_one() is True
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def _backend_pid(engine: AsyncEngine) -> int:
    """The session behind the connection the engine's pool hands out now."""
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_append_on_a_connection_killed_in_the_pool_is_stored_once(
    own_store: OwnStores, killer: AsyncEngine
) -> None:
    """The store's own appends skip the checkout ping: a dead connection is found by the append
    itself, dropped, and the append run again on a live one (idempotent by event id). Every
    connection of the engine is killed, its own asyncpg ones included (what a restart does)."""
    own = await own_store("checkout")
    async with killer.connect() as conn:
        killed = await conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :victim"
            ),
            {"victim": own.name},
        )
        assert killed.scalar_one() >= 1
    result = await own.store.append(own.stream, 1, [NewEvent(type="Noted", data={"n": 2})])
    assert (result.first_version, result.already_stored) == (2, False)
    assert [e.version for e in await own.store.read_stream(own.stream)] == [1, 2]


async def test_a_stream_read_on_a_connection_killed_in_the_pool_is_answered(
    own_store: OwnStores, killer: AsyncEngine
) -> None:
    """A read of a stream without a connection also skips the ping (a command's top-up read): a
    dead connection is found by the read itself, dropped, and the read run again on a live one."""
    own = await own_store("checkout")
    first = await _backend_pid(own.engine)
    async with killer.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    [event] = await own.store.read_stream(own.stream)
    assert (event.version, event.type, event.stream_id) == (1, "Noted", own.stream)
    assert isinstance(event.event_id, uuid.UUID)
