"""The peer: the `eventsourcing` library's PostgreSQL application recorder, on the same server.

Its application recorder is the part comparable to our store: it records events with optimistic
concurrency (primary key on (originator_id, originator_version)) and numbers them for readers of the
whole log. It makes that numbering gapless by locking the table for the length of each writing
transaction, so its writers are serialised; ours are not (they order by transaction id instead).
It is synchronous (psycopg 3), so its writers are threads, each with a pooled connection.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from bench.appends import StreamCursor
from bench.timing import Rate, SyncStep, run_thread_writers
from bench.workload import EVENT_TYPE, make_batch

PEER_SCHEMA = "bench_peer"
TOPIC = f"helpdesk.events.ticket:{EVENT_TYPE}"


@dataclass
class _OriginatorCursor:
    """The peer keys streams by UUID; reuse the same stream rotation as the other writers."""

    cursor: StreamCursor
    originator_id: uuid.UUID = field(default_factory=uuid.uuid4)
    stream: str = ""

    def next(self, batch: int) -> tuple[uuid.UUID, int]:
        stream, expected = self.cursor.next(batch)
        if stream != self.stream:
            self.stream, self.originator_id = stream, uuid.uuid4()
        return self.originator_id, expected


def open_datastore(dsn: str, pool_size: int) -> PostgresDatastore:
    parts = urlsplit(dsn)
    return PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=pool_size,
        schema=PEER_SCHEMA,
    )


def create_peer_schema(dsn: str) -> None:
    datastore = open_datastore(dsn, pool_size=1)
    try:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {PEER_SCHEMA}")
        PostgresApplicationRecorder(datastore).create_table()
    finally:
        datastore.close()


def peer_steps(recorder: PostgresApplicationRecorder, writers: int, batch: int) -> list[SyncStep]:
    def make(cursor: _OriginatorCursor) -> SyncStep:
        def step() -> int:
            events = make_batch(batch)
            originator_id, expected = cursor.next(batch)
            recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=originator_id,
                        originator_version=expected + i + 1,
                        topic=TOPIC,
                        state=json.dumps({"data": e.data, "metadata": e.metadata}).encode(),
                    )
                    for i, e in enumerate(events)
                ]
            )
            return batch

        return step

    return [make(_OriginatorCursor(StreamCursor("ticket"))) for _ in range(writers)]


def measure_peer(dsn: str, writers: int, batch: int, seconds: float, warmup: float) -> Rate:
    """Blocking: run it in a worker thread (`asyncio.to_thread`)."""
    datastore = open_datastore(dsn, pool_size=writers)
    try:
        recorder = PostgresApplicationRecorder(datastore)
        return run_thread_writers(peer_steps(recorder, writers, batch), seconds, warmup)
    finally:
        datastore.close()
