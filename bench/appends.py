"""Append rates: the event store against plain asyncpg INSERTs of the same rows.

Each writer appends to streams of its own (a new stream every `STREAM_LENGTH` events), naming
the expected version as the services do, so writers never contend for a stream.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.timing import AsyncStep, Rate, run_async_writers
from bench.workload import EVENT_TYPE, make_batch, to_new_event
from helpdesk_shared.eventstore.model import stream_id
from helpdesk_shared.eventstore.store import EventStore

#: Events per stream before a writer opens a new one (a long ticket's history).
STREAM_LENGTH = 100

PLAIN_SCHEMA = "bench_plain"

PLAIN_TABLE_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {PLAIN_SCHEMA};
CREATE TABLE IF NOT EXISTS {PLAIN_SCHEMA}.events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    schema_version integer NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {PLAIN_SCHEMA}.events_unique (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    event_id uuid NOT NULL,
    type text NOT NULL,
    schema_version integer NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version),
    UNIQUE (event_id)
)
"""

#: One statement (so one round trip and one implicit transaction) per append: the limit.
PLAIN_INSERT_INTO = """
INSERT INTO {table}
    (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT $1, $2 + n.ord, n.event_id, $3, 1, CAST(n.data AS jsonb), CAST(n.metadata AS jsonb)
FROM unnest(CAST($4 AS uuid[]), CAST($5 AS text[]), CAST($6 AS text[]))
    WITH ORDINALITY AS n(event_id, data, metadata, ord)
"""
PLAIN_INSERT = PLAIN_INSERT_INTO.format(table=f"{PLAIN_SCHEMA}.events")
#: The same INSERT into a table with the event store's unique constraints (stream and version,
#: event id): the index upkeep every safe append pays, without the version check and lookups.
PLAIN_UNIQUE_INSERT = PLAIN_INSERT_INTO.format(table=f"{PLAIN_SCHEMA}.events_unique")


@dataclass
class StreamCursor:
    """Where one writer appends next."""

    category: str
    stream: str = ""
    version: int = 0

    def next(self, batch: int) -> tuple[str, int]:
        """The stream and expected version of the next append of `batch` events."""
        if not self.stream or self.version + batch > max(STREAM_LENGTH, batch):
            self.stream, self.version = stream_id(self.category, uuid.uuid4()), 0
        expected = self.version
        self.version += batch
        return self.stream, expected


def store_steps(store: EventStore, writers: int, batch: int) -> list[AsyncStep]:
    """One append step per writer, through `EventStore.append`."""

    def make(cursor: StreamCursor) -> AsyncStep:
        async def step() -> int:
            events = [to_new_event(e) for e in make_batch(batch)]
            stream, expected = cursor.next(batch)
            await store.append(stream, expected, events)
            return batch

        return step

    return [make(StreamCursor("ticket")) for _ in range(writers)]


def plain_steps(
    connections: list[asyncpg.Connection], batch: int, *, unique: bool = False
) -> list[AsyncStep]:
    """One INSERT step per connection, with the same rows serialised the same way (into the
    table with the store's unique constraints when `unique`)."""
    statement = PLAIN_UNIQUE_INSERT if unique else PLAIN_INSERT

    def make(conn: asyncpg.Connection, cursor: StreamCursor) -> AsyncStep:
        async def step() -> int:
            events = make_batch(batch)
            stream, expected = cursor.next(batch)
            await conn.execute(
                statement,
                stream,
                expected,
                EVENT_TYPE,
                [e.event_id for e in events],
                [json.dumps(e.data) for e in events],
                [json.dumps(e.metadata) for e in events],
            )
            return batch

        return step

    return [make(conn, StreamCursor("ticket")) for conn in connections]


async def measure_store(
    engine: AsyncEngine, writers: int, batch: int, seconds: float, warmup: float
) -> Rate:
    return await run_async_writers(store_steps(EventStore(engine), writers, batch), seconds, warmup)


async def measure_plain(
    dsn: str, writers: int, batch: int, seconds: float, warmup: float, *, unique: bool = False
) -> Rate:
    """The plain INSERT (primary key only, or with the store's unique constraints)."""
    connections = [await asyncpg.connect(dsn) for _ in range(writers)]
    try:
        steps = plain_steps(connections, batch, unique=unique)
        return await run_async_writers(steps, seconds, warmup)
    finally:
        for conn in connections:
            await conn.close()


async def create_plain_table(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(PLAIN_TABLE_DDL)
    finally:
        await conn.close()


async def fill_store(store: EventStore, events: int, batch: int = 100) -> int:
    """Append `events` untimed events (for the read and relay measurements); returns the count."""
    cursor = StreamCursor("ticket")
    written = 0
    while written < events:
        size = min(batch, events - written)
        stream, expected = cursor.next(size)
        await store.append(stream, expected, [to_new_event(e) for e in make_batch(size)])
        written += size
    return written
