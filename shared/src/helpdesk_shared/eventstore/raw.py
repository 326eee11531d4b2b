"""The whole log read for a rebuild: the columns a projection folds, the body left undecoded.

`EventStore.read_all` decodes every event whole (its JSON body, its metadata, its id), which is
most of what reading a long log costs. A projection rebuilding from the log needs less: the
stream, version, type and time of every event, and the body of only those it keeps. This read
runs on the caller's connection through asyncpg itself (no SQLAlchemy row processing per event),
in the same final, gapless order as `read_all`, and leaves the body as its JSON text for the
caller to decode when it keeps the event, with `decode_body`: pydantic's JSON parser, about
three times as fast as `json.loads` on the events' bodies, giving the same objects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pydantic_core import from_json
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.eventstore.model import LogPosition

_READ_ALL_RAW = """
    SELECT tx_id::text::bigint, global_position, stream_id, version, type, schema_version,
           data::text, recorded_at
    FROM eventstore.events
    WHERE (tx_id, global_position) > (CAST($1::text AS xid8), $2)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.tx_id, events.global_position
    LIMIT $3"""


class RawEvent(NamedTuple):
    """A stored event as `read_all_raw` returns it: `data` is the body's JSON text, as stored at
    `schema_version` (a caller that wants the catalogue's current shape upcasts it with
    `helpdesk_shared.events.upcast`, as `RecordedEvent.to_domain` does)."""

    tx_id: int
    global_position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: str
    recorded_at: datetime

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(self.tx_id, self.global_position)


async def read_all_raw(
    conn: AsyncConnection, after: LogPosition | None, limit: int
) -> list[RawEvent]:
    """Up to `limit` events of the whole log after `after`, in `read_all`'s order, on `conn`'s
    driver connection: inside its transaction once SQLAlchemy has begun it (at the first
    statement run through `conn`), else in a transaction of its own."""
    after = after or LogPosition.start()
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    rows = await driver.fetch(_READ_ALL_RAW, str(after.tx_id), after.global_position, limit)
    return [RawEvent(*row) for row in rows]


def decode_body(data: str) -> dict[str, Any]:
    """A `RawEvent.data`'s object, as `json.loads` would give it."""
    body: dict[str, Any] = from_json(data)
    return body
