"""Ticket snapshots in `ticket.snapshots`: a cache on disk, never a source of truth.

A snapshot is the state rebuilt up to a version; events are immutable, so it never goes stale.
One whose shape no longer matches `Ticket` (older `SCHEMA`, or it fails to validate) is ignored
and the stream is replayed instead.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.eventstore.alone import fetch_alone, native
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.eventstore.reads import to_recorded
from helpdesk_ticket.domain.ticket.state import Ticket

#: Bump when `Ticket` or `evolve` changes (a snapshot holds their results): older ones are ignored.
SCHEMA = 4
#: Take a snapshot when loading replayed at least this many events.
EVERY = 100

_ADAPTER = TypeAdapter(Ticket)
_LOAD = text(
    """SELECT version, state::text AS state FROM ticket.snapshots
    WHERE stream_id = :stream_id AND schema_version = :schema AND version <= :upto"""
)
_SAVE = text(
    """INSERT INTO ticket.snapshots (stream_id, version, schema_version, state)
    VALUES (:stream_id, :version, :schema, CAST(:state AS jsonb))
    ON CONFLICT (stream_id) DO UPDATE
    SET version = excluded.version, schema_version = excluded.schema_version,
        state = excluded.state, taken_at = now()
    WHERE ticket.snapshots.version < excluded.version
       OR ticket.snapshots.schema_version <> excluded.schema_version"""
)
#: The same lookup for asyncpg itself ($1 stream, $2 schema, $3 upto), run alone.
_LOAD_NATIVE = """SELECT version, state::text AS state FROM ticket.snapshots
    WHERE stream_id = $1 AND schema_version = $2 AND version <= $3"""
#: The latest snapshot at or below :upto (its row first, `state` not null) and the stream's events
#: after it up to :upto, in version order: a state not in memory in one round trip, not two.
_LOAD_WITH_EVENTS = text(
    """WITH snapshot AS (
        SELECT version, state::text AS state FROM ticket.snapshots
        WHERE stream_id = :stream_id AND schema_version = :schema
          AND version <= CAST(:upto AS bigint)
    )
    SELECT CAST(version AS bigint) AS version, state, NULL::bigint AS global_position,
           NULL::bigint AS tx_id, NULL::text AS stream_id, NULL::uuid AS event_id,
           NULL::text AS type, NULL::integer AS schema_version, NULL::text AS data,
           NULL::text AS metadata, NULL::timestamptz AS recorded_at
    FROM snapshot
    UNION ALL
    SELECT version, NULL, global_position, tx_id::text::bigint, stream_id, event_id, type,
           schema_version, data::text, metadata::text, recorded_at
    FROM eventstore.events
    WHERE stream_id = :stream_id AND version <= CAST(:upto AS bigint)
      AND version > coalesce((SELECT version FROM snapshot), 0)
    ORDER BY version"""
)
_LOAD_WITH_EVENTS_NATIVE = native(_LOAD_WITH_EVENTS, ("stream_id", "schema", "upto"))
#: A snapshot and the events after it, or None when the snapshot is unreadable.
WithEvents = tuple[tuple[int, Ticket] | None, list[RecordedEvent]] | None
log = logging.getLogger(__name__)


async def load_snapshot(
    conn: AsyncConnection, stream_id: str, upto: int | None
) -> tuple[int, Ticket] | None:
    params = {"stream_id": stream_id, "schema": SCHEMA, "upto": upto if upto else 2**31 - 1}
    row = (await conn.execute(_LOAD, params)).first()
    return _read(stream_id, row.version, row.state) if row is not None else None


def _read(stream_id: str, version: int, state: str) -> tuple[int, Ticket] | None:
    try:
        return int(version), _ADAPTER.validate_json(state)
    except ValidationError:
        log.warning("ignoring an unreadable snapshot of %s", stream_id)
        return None


async def save_snapshot(conn: AsyncConnection, stream_id: str, version: int, state: Ticket) -> None:
    params = {
        "stream_id": stream_id,
        "version": version,
        "schema": SCHEMA,
        "state": _ADAPTER.dump_json(state).decode(),
    }
    await conn.execute(_SAVE, params)


class TicketSnapshots:
    """The kernel's `Snapshots` port for tickets, on `ticket.snapshots`. With `engine`, a lookup
    without a connection (a command's state not in memory) runs alone on the driver, as the
    store's reads: no checkout ping, a dead connection replaced and the lookup run again."""

    every = EVERY

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self.engine = engine

    async def load(
        self, stream_id: str, upto: int | None, *, conn: AsyncConnection | None
    ) -> tuple[int, Ticket] | None:
        if conn is not None:
            return await load_snapshot(conn, stream_id, upto)
        if self.engine is None:
            raise ValueError("a snapshot lookup without a connection needs the engine")
        args = (stream_id, SCHEMA, upto if upto else 2**31 - 1)
        rows = await fetch_alone(self.engine, _LOAD_NATIVE, args)
        return _read(stream_id, rows[0]["version"], rows[0]["state"]) if rows else None

    async def load_with_events(
        self, stream_id: str, upto: int | None, *, conn: AsyncConnection | None
    ) -> WithEvents:
        """`load` and the stream's events after the snapshot (or from its start without one) up
        to `upto`, in one statement; None when the snapshot is unreadable (the caller then reads
        the whole stream)."""
        params = {"stream_id": stream_id, "schema": SCHEMA, "upto": upto if upto else 2**62}
        if conn is not None:
            rows: list[Any] = [r._mapping for r in (await conn.execute(_LOAD_WITH_EVENTS, params))]
        elif self.engine is not None:
            args = (stream_id, SCHEMA, params["upto"])
            rows = await fetch_alone(self.engine, _LOAD_WITH_EVENTS_NATIVE, args)
        else:
            raise ValueError("a snapshot lookup without a connection needs the engine")
        if not rows or rows[0]["state"] is None:
            return None, [to_recorded(row) for row in rows]
        snapshot = _read(stream_id, rows[0]["version"], rows[0]["state"])
        if snapshot is None:
            return None
        return snapshot, [to_recorded(row) for row in rows[1:]]

    async def save(
        self, stream_id: str, version: int, state: Ticket, *, conn: AsyncConnection
    ) -> None:
        await save_snapshot(conn, stream_id, version, state)
