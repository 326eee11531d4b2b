"""The engine's own asyncpg connections, on which the event store runs its single statements:
bounded waits answered as the engine's pool answers them, closed with the engine."""

import asyncio
import threading
import time
import uuid

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from helpdesk_shared.db import DatabaseTimeouts, asyncpg_dsn, create_engine
from helpdesk_shared.driver_pool import driver_pool
from helpdesk_shared.eventstore.model import NewEvent, stream_id
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.unavailable import unavailable_dependency

from .conftest import OwnStores


async def _sessions(database_url: str, application_name: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
        return int(await conn.fetchval(query, application_name))
    finally:
        await conn.close()


async def test_the_store_appends_and_reads_on_the_engines_own_connections_closed_with_it(
    database_url: str, own_store: OwnStores
) -> None:
    own = await own_store("driver", pool_size=2)
    assert [e.version for e in await own.store.read_stream(own.stream)] == [1]
    assert await own.store.stream_version(own.stream) == 1
    # Only the store's own connection: SQLAlchemy's pool opened none.
    assert own.engine.sync_engine.pool.checkedin() == 0
    assert await _sessions(database_url, own.name) == 1
    await own.engine.dispose()
    assert await _sessions(database_url, own.name) == 0
    # A disposed engine stays usable, as SQLAlchemy's pool is.
    assert await own.store.stream_version(own.stream) == 1


async def test_no_free_connection_in_time_is_the_pools_timeout_a_503(database_url: str) -> None:
    engine = create_engine(
        database_url, pool_size=1, timeouts=DatabaseTimeouts(pool=0.2), driver_connections=1
    )
    own = driver_pool(engine)
    assert own is not None
    held = await own.acquire()
    try:
        with pytest.raises(sa_exc.TimeoutError) as waited:
            await EventStore(engine).stream_version(stream_id("driver", uuid.uuid4()))
        assert unavailable_dependency(waited.value) == "database"
    finally:
        own.release(held)
        await engine.dispose()


def _terminate_now(database_url: str, application_name: str) -> None:
    """Kill the sessions from another thread while this event loop is blocked, so that asyncpg
    has not yet read their goodbye: the next statement is the first to find them dead."""

    async def terminate() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1",
                application_name,
            )
        finally:
            await conn.close()

    killer = threading.Thread(target=asyncio.run, args=(terminate(),))
    killer.start()
    killer.join()
    time.sleep(0.2)  # the backends are gone before this loop runs again


async def test_an_append_on_a_connection_found_dead_is_rerun_once_on_a_new_one(
    database_url: str, own_store: OwnStores
) -> None:
    own = await own_store("driver", pool_size=2)
    _terminate_now(database_url, own.name)
    result = await own.store.append(own.stream, 1, [NewEvent(type="Noted", data={"n": 2})])
    assert (result.first_version, result.already_stored) == (2, False)
    _terminate_now(database_url, own.name)
    assert [e.version for e in await own.store.read_stream(own.stream)] == [1, 2]


async def test_the_engines_own_connections_have_its_timeouts_and_settings(
    database_url: str,
) -> None:
    name = f"driver-{uuid.uuid4().hex[:8]}"
    timeouts = DatabaseTimeouts(statement=7.0, pool=3.0, connect=2.0)
    engine = create_engine(database_url, pool_size=1, application_name=name, timeouts=timeouts)
    own = driver_pool(engine)
    assert own is not None
    connection = await own.acquire()
    try:
        assert await connection.fetchval("SHOW statement_timeout") == "7s"
        assert await connection.fetchval("SHOW application_name") == name
        assert await connection.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        assert await connection.fetchval("SHOW idle_in_transaction_session_timeout") == "30s"
        assert own.acquire_timeout == 3.0
        assert own.connect_kwargs["timeout"] == 2.0
    finally:
        own.release(connection)
        await engine.dispose()
