"""Read-all rates: `EventStore.read_all` (decoded into `RecordedEvent`) against a plain keyset read.

Both read the same rows of `eventstore.events`, in pages of the same size, and decode the JSON
columns. The plain read pages by `global_position` alone, which is the limit and not a correct
reader of a log being written (it can skip a late-committing lower position); the store pages by
(tx_id, global_position) below the oldest running transaction, which is.
"""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.timing import Rate, best, timed
from helpdesk_shared.eventstore.model import LogPosition
from helpdesk_shared.eventstore.store import EventStore

PLAIN_KEYSET = """
SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, type,
       schema_version, data, metadata, recorded_at
FROM eventstore.events
WHERE global_position > $1
ORDER BY global_position
LIMIT $2
"""


async def read_store(engine: AsyncEngine, events: int, page: int, max_seconds: float) -> Rate:
    store = EventStore(engine)

    async def work() -> int:
        read = 0
        after: LogPosition | None = None
        deadline = time.perf_counter() + max_seconds
        while read < events and time.perf_counter() < deadline:
            batch = await store.read_all(after, min(page, events - read))
            if not batch:
                break
            read += len(batch)
            after = batch[-1].log_position
        return read

    return await timed(work)


async def read_plain(dsn: str, events: int, page: int, max_seconds: float) -> Rate:
    conn = await asyncpg.connect(dsn)
    try:
        statement = await conn.prepare(PLAIN_KEYSET)

        async def work() -> int:
            read = 0
            after = 0
            deadline = time.perf_counter() + max_seconds
            while read < events and time.perf_counter() < deadline:
                rows = await statement.fetch(after, min(page, events - read))
                if not rows:
                    break
                decoded = [_decode(row) for row in rows]
                read += len(decoded)
                after = decoded[-1][0]
            return read

        return await timed(work)
    finally:
        await conn.close()


def _decode(row: asyncpg.Record) -> tuple[Any, ...]:
    return (*row[:7], json.loads(row[7]), json.loads(row[8]), row[9])


async def best_of(
    rounds: int, engine: AsyncEngine, dsn: str, events: int, page: int, max_seconds: float
) -> tuple[Rate, Rate]:
    """The two readers take turns `rounds` times; each keeps its best round."""
    store_rates: list[Rate] = []
    plain_rates: list[Rate] = []
    for _ in range(max(1, rounds)):
        plain_rates.append(await read_plain(dsn, events, page, max_seconds))
        store_rates.append(await read_store(engine, events, page, max_seconds))
    return best(store_rates), best(plain_rates)
