"""An append the store runs alone: one statement on a pooled asyncpg connection, in autocommit.

One statement is atomic on its own, so it needs no BEGIN and COMMIT round trips; asyncpg's
prepared statement skips SQLAlchemy's per-execution work; the connection is one of the engine's
own asyncpg connections (`helpdesk_shared.driver_pool`: taken and given back in µs, where
SQLAlchemy's pool costs 160-200 µs), or, for an engine without them, one of SQLAlchemy's pool
whose checkout skips the liveness ping. A connection found dead is dropped and the statement run
again once on a live one, which is safe because an append is idempotent by event id (and a read
changes nothing). One round trip per append, like a plain INSERT (docs/performance.md).

The first attempt is the fast statement: the INSERT alone, guarded by one probe of the unique
(stream_id, version) index that the expected version exists. It stores nothing and returns no
rows when that version does not exist, and a lost race, a stale expected version or a retried
event id each break a unique constraint: in every such case the store runs the full statement,
which reports what is there (already stored, or the real head).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from helpdesk_shared.db import unpinged
from helpdesk_shared.driver_pool import CONNECTION_LOST, DriverPool, driver_pool, lost

UNIQUE_VERSION = "events_stream_id_version_key"
UNIQUE_EVENT_ID = "events_event_id_key"

#: $1 stream, $2 expected version (0: a new stream), $3.. the events' columns as arrays.
FAST_APPEND = """
INSERT INTO eventstore.events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT $1, CAST($2 AS bigint) + n.ord, n.event_id, n.type, n.schema_version,
       CAST(n.data AS jsonb), CAST(n.metadata AS jsonb)
FROM unnest(
    CAST($3 AS uuid[]), CAST($4 AS text[]), CAST($5 AS int[]), CAST($6 AS text[]),
    CAST($7 AS text[])
) WITH ORDINALITY AS n(event_id, type, schema_version, data, metadata, ord)
WHERE CAST($2 AS bigint) = 0 OR EXISTS (
    SELECT 1 FROM eventstore.events WHERE stream_id = $1 AND version = CAST($2 AS bigint)
)
ORDER BY n.ord
RETURNING version, global_position
"""


#: `FAST_APPEND` for a single event: its columns as scalars ($3..$7, one event's id, type, schema
#: version, data and metadata), without the arrays to encode, unnest and order. Most appends are
#: one event (a command's answer); this one costs the server and the client less per event.
FAST_APPEND_ONE = """
INSERT INTO eventstore.events (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT $1, CAST($2 AS bigint) + 1, CAST($3 AS uuid), $4, CAST($5 AS int),
       CAST($6 AS jsonb), CAST($7 AS jsonb)
WHERE CAST($2 AS bigint) = 0 OR EXISTS (
    SELECT 1 FROM eventstore.events WHERE stream_id = $1 AND version = CAST($2 AS bigint)
)
RETURNING version, global_position
"""


def native(statement: TextClause, names: Sequence[str]) -> str:
    """`statement` for asyncpg itself: each `:name` becomes `$n`, n its place in `names`."""
    return re.sub(
        r"(?<!:):(?!:)(\w+)", lambda m: f"${list(names).index(m.group(1)) + 1}", statement.text
    )


class LostRace(Exception):
    """A concurrent writer committed the same stream version or event id first."""


class _DeadConnection(Exception):
    """The pooled connection was closed under the statement (a restart, a killed backend)."""


async def fetch_alone(engine: AsyncEngine, statement: str, args: Sequence[Any]) -> list[Any]:
    """`statement`'s rows, run once on a connection of its own, in autocommit; `LostRace` when
    it breaks one of the store's unique constraints."""
    own = driver_pool(engine)
    if own is not None:
        try:
            return await _fetch_own(own, statement, args)
        except _DeadConnection:
            return await _fetch_own(own, statement, args)
    try:
        with unpinged():
            return await _fetch(engine, statement, args)
    except _DeadConnection:
        return await _fetch(engine, statement, args)


async def fetch_on(conn: AsyncConnection, statement: str, args: Sequence[Any]) -> list[Any]:
    """`statement`'s rows on the caller's autocommit connection; `LostRace` as `fetch_alone`."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    return await _fetch_raced(driver, statement, args)


async def _fetch_raced(driver: Any, statement: str, args: Sequence[Any]) -> list[Any]:
    """The rows; `LostRace` when they break one of the store's unique constraints. Both the
    caller's connection and the store's own map a race this one way, so a retried append tells
    a lost race from another unique violation alike on either path."""
    try:
        return list(await driver.fetch(statement, *args))
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name in (UNIQUE_VERSION, UNIQUE_EVENT_ID):
            raise LostRace() from error
        raise


async def _fetch_own(own: DriverPool, statement: str, args: Sequence[Any]) -> list[Any]:
    """On one of the engine's own connections. A dead one expires the others (a restart killed
    them all), so that the re-run gets a new connection; one whose statement was interrupted
    (cancelled, timed out) is closed rather than given back in an unknown state."""
    driver = await own.acquire()
    reusable = False
    try:
        rows = await _run(driver, statement, args)
        reusable = True
        return rows
    except (LostRace, asyncpg.PostgresError):
        reusable = True
        raise
    except _DeadConnection:
        own.expire()
        raise
    finally:
        own.release(driver, reusable=reusable)


async def _run(driver: Any, statement: str, args: Sequence[Any]) -> list[Any]:
    """The rows; `LostRace` for a broken unique constraint, `_DeadConnection` for a connection
    that can run nothing any more."""
    try:
        return await _fetch_raced(driver, statement, args)
    except asyncpg.UniqueViolationError:
        # Not a race on the store's constraints: an answer from a live connection.
        raise
    except (*CONNECTION_LOST, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        if not lost(driver, error):
            raise
        raise _DeadConnection() from error


async def _fetch(engine: AsyncEngine, statement: str, args: Sequence[Any]) -> list[Any]:
    """Without an `AsyncConnection` around the pooled one: two greenlet switches fewer."""
    raw = await engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        try:
            return await _run(driver, statement, args)
        except _DeadConnection as dead:
            await greenlet_spawn(raw.invalidate, dead.__cause__)
            raise
    finally:
        # Checking in may close an overflow connection, which awaits inside SQLAlchemy.
        await greenlet_spawn(raw.close)
