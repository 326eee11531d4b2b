"""What is left for the relay to publish after its checkpoint: how many events and since when the
oldest of them waits (the relay's backlog gauges, measured at most once a second while it
publishes).

The count is bounded, so that a long backlog costs a bounded walk of the log's index from the
checkpoint. The bound is a parameter, not a constant, for the plan's sake: the engine's
connections plan each statement once for any values (`plan_cache_mode`, `db.py`), and for that
generic plan PostgreSQL takes a third of the log to follow the checkpoint. With a constant
bound of 100,000, once the log's statistics were known (any ANALYZE, autovacuum's included), a
sequential scan and sort of the whole log looked cheaper than the index: 0.8 s a measure at the
tail of 400,000 events, against 7 ms now, paid once a second by a relay following the log.
A parameter's LIMIT is planned as a tenth of the rows, as in the relay's read of the log
(`READ_OUTGOING`), and the index is walked from the checkpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.eventstore.model import LogPosition

BACKLOG = text(
    """SELECT count(*) AS behind, min(recorded_at) AS oldest FROM (
        SELECT recorded_at FROM eventstore.events
        WHERE (tx_id, global_position) > (CAST(CAST(:tx_id AS text) AS xid8), :position)
        ORDER BY tx_id, global_position
        LIMIT :bound) AS pending"""
)
#: The most events counted (a backlog beyond it reads as this many).
BACKLOG_BOUND = 100_000


class Backlog(NamedTuple):
    behind: int
    #: When the oldest event left to publish was recorded (None: nothing is left).
    oldest: datetime | None


def backlog_parameters(position: LogPosition) -> dict[str, object]:
    """`BACKLOG`'s parameters: what is left after `position`, counted up to `BACKLOG_BOUND`."""
    return {
        "tx_id": str(position.tx_id),
        "position": position.global_position,
        "bound": BACKLOG_BOUND,
    }


async def backlog_after(engine: AsyncEngine, position: LogPosition) -> Backlog:
    """The events stored after `position` (up to `BACKLOG_BOUND`) and the oldest one's time."""
    async with engine.connect() as conn:
        row = (await conn.execute(BACKLOG, backlog_parameters(position))).one()
    return Backlog(int(row.behind), row.oldest)
