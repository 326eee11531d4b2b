"""The whole log read for publishing: each event's body kept as the JSON text PostgreSQL stores.

The relay publishes every event inside a CloudEvents envelope whose `data` is the event's body.
Decoding each body from the store and encoding it again into the envelope was most of the
relay's cost per event besides the broker (docs/performance.md), so this read leaves the body as
the text `jsonb` gives back and the envelope is written around it (`envelope.spliced_body`).
That text is the same JSON value as the stored body, but not the bytes `json.dumps` would write
(`jsonb` orders keys by length, then bytes, and writes non-ASCII characters as they are): every
consumer parses the envelope, none compares its bytes. Of the metadata only the keys the
envelope carries are read, as text, by PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.eventstore.model import EventMetadata, LogPosition, stream_category
from helpdesk_shared.eventstore.reads import READ_OUTGOING, read


class OutgoingEvent(NamedTuple):
    """A stored event as the relay publishes it: `data` is the body's JSON text as stored, and
    `metadata` holds only what the envelope carries (its `extra` is left empty)."""

    global_position: int
    tx_id: int
    stream_id: str
    version: int
    event_id: str
    type: str
    schema_version: int
    data: str
    metadata: EventMetadata
    recorded_at: datetime

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(self.tx_id, self.global_position)

    @property
    def category(self) -> str:
        return stream_category(self.stream_id)


async def read_outgoing(
    engine: AsyncEngine, after: LogPosition | None, limit: int
) -> list[OutgoingEvent]:
    """Up to `limit` events of the whole log after `after`, in `read_all`'s final, gapless order."""
    after = after or LogPosition.start()
    params = {"tx_id": str(after.tx_id), "position": after.global_position, "limit": limit}
    return [_outgoing(row) for row in await read(engine, READ_OUTGOING, params, None)]


def _outgoing(row: Any) -> OutgoingEvent:
    return OutgoingEvent(
        row["global_position"],
        row["tx_id"],
        row["stream_id"],
        row["version"],
        str(row["event_id"]),
        row["type"],
        row["schema_version"],
        row["data"],
        EventMetadata(
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            actor=row["actor"],
            traceparent=row["traceparent"],
            tracestate=row["tracestate"],
        ),
        row["recorded_at"],
    )
