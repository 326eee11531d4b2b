"""The store's reads: one stream in version order, the whole log in its final order, a head.

Readers of the whole log read only rows whose writing transaction is older than every
transaction still running, ordered by (tx_id, global_position): an event that commits late with a
lower position is therefore never skipped. Without the caller's connection a read runs on one of
the engine's own asyncpg connections, like an append the store runs alone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.driver_pool import driver_pool
from helpdesk_shared.eventstore.alone import fetch_alone, native
from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent

READ_STREAM = text(
    """SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, type,
           schema_version, data::text AS data, metadata::text AS metadata, recorded_at
    FROM eventstore.events
    WHERE stream_id = :stream_id AND version >= :from_version AND version <= :to_version
    ORDER BY version"""
)

READ_ALL = text(
    """SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, type,
           schema_version, data::text AS data, metadata::text AS metadata, recorded_at
    FROM eventstore.events
    WHERE (tx_id, global_position) > (CAST(CAST(:tx_id AS text) AS xid8), :position)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.tx_id, events.global_position
    LIMIT :limit"""
)

#: `READ_ALL` for the relay: the body left as its stored JSON text, from the metadata only what
#: the envelope carries (`messaging/envelope.py`), each as text; nothing is decoded as JSON.
READ_OUTGOING = text(
    """SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version,
           event_id::text AS event_id, type, schema_version, data::text AS data, recorded_at,
           metadata->>'correlation_id' AS correlation_id,
           metadata->>'causation_id' AS causation_id, metadata->>'actor' AS actor,
           metadata->>'traceparent' AS traceparent, metadata->>'tracestate' AS tracestate
    FROM eventstore.events
    WHERE (tx_id, global_position) > (CAST(CAST(:tx_id AS text) AS xid8), :position)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.tx_id, events.global_position
    LIMIT :limit"""
)

STREAM_VERSION = text(
    "SELECT coalesce(max(version), 0) FROM eventstore.events WHERE stream_id = :stream_id"
)

#: The reads as the store runs them alone, on the engine's own connections (`driver_pool`).
_READ_STREAM_PARAMS = ("stream_id", "from_version", "to_version")
_READ_ALL_PARAMS = ("tx_id", "position", "limit")
_NATIVE_READS = {
    statement: (native(statement, names), names)
    for statement, names in (
        (READ_STREAM, _READ_STREAM_PARAMS),
        (READ_ALL, _READ_ALL_PARAMS),
        (READ_OUTGOING, _READ_ALL_PARAMS),
        (STREAM_VERSION, ("stream_id",)),
    )
}


async def read(
    engine: AsyncEngine, statement: TextClause, params: dict[str, Any], conn: AsyncConnection | None
) -> Sequence[Any]:
    """The rows, as mappings: on the caller's connection, else on one of the engine's own
    asyncpg connections (no SQLAlchemy pool checkout, no result wrapping), else pooled."""
    if conn is None and driver_pool(engine) is not None:
        statement_native, names = _NATIVE_READS[statement]
        return await fetch_alone(engine, statement_native, [params[name] for name in names])
    if conn is not None:
        return [row._mapping for row in (await conn.execute(statement, params)).all()]
    async with engine.connect() as own:
        return [row._mapping for row in (await own.execute(statement, params)).all()]


async def read_stream_on(
    driver: Any, stream_id: str, from_version: int = 1, to_version: int | None = None
) -> list[RecordedEvent]:
    """`EventStore.read_stream` on an asyncpg connection the caller drives itself (inside its
    transaction, if it opened one), with the statement the store runs alone."""
    statement, _ = _NATIVE_READS[READ_STREAM]
    last = to_version if to_version is not None else 2**62
    rows = await driver.fetch(statement, stream_id, from_version, last)
    return [to_recorded(row) for row in rows]


def to_recorded(row: Any) -> RecordedEvent:
    """An event as read, from a row of `READ_STREAM` or `READ_ALL` (either driver's kind)."""
    return RecordedEvent(
        global_position=row["global_position"],
        tx_id=row["tx_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=_as_uuid(row["event_id"]),
        type=row["type"],
        schema_version=row["schema_version"],
        data=json.loads(row["data"]),
        metadata=EventMetadata.from_json(json.loads(row["metadata"])),
        recorded_at=row["recorded_at"],
    )


def _as_uuid(value: Any) -> uuid.UUID:
    """The event id as `uuid.UUID`, whichever driver's value or its text the row holds."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
