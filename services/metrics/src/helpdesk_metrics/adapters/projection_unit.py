"""The projection's units of work on PostgreSQL: the facts tables and the event store, read and
written on one connection, in one transaction.

The live consumer's unit is bound to the transaction the shared consumer opened (the one that
claims the event in `infra.inbox`, and commits before the message is acknowledged); the replay's
opens its own. Nothing here adds a statement to what the handlers ran before. The reports read the
facts apart, in `queries/facts.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.application.ports import LogPage
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.raw import decode_body, read_all_raw
from helpdesk_shared.eventstore.store import EventStore


class StoreHistory:
    """The event store read on the unit's connection (so it sees the unit's snapshot)."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self._store = store
        self._conn = conn

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return await self._store.read_stream(stream_id, conn=self._conn)

    async def read_page(
        self, after: LogPosition | None, limit: int, categories: frozenset[str]
    ) -> LogPage:
        """The log as the rebuild folds it: read raw (`read_all_raw`, on the unit's connection,
        after `clear` began its transaction), the bodies of the kept categories alone decoded,
        as the live path gets them (the JSON object, no catalogue model)."""
        rows = await read_all_raw(self._conn, after, limit)
        records = [
            EventRecord(
                row.stream_id, row.version, row.type, decode_body(row.data), row.recorded_at
            )
            for row in rows
            if row.stream_id.partition("-")[0] in categories
        ]
        return LogPage(len(rows), rows[-1].log_position if rows else None, records)


@dataclass(frozen=True)
class PostgresProjectionUnit:
    facts: FactsRepository
    history: StoreHistory


class PostgresProjection:
    """Makes the projection's units of work on one engine."""

    def __init__(self, engine: AsyncEngine, store: EventStore | None = None) -> None:
        self._engine = engine
        self._store = store or EventStore(engine)

    def within(self, conn: AsyncConnection) -> PostgresProjectionUnit:
        """A unit in a transaction someone else opened and commits (the consumer's)."""
        return PostgresProjectionUnit(FactsRepository(conn), StoreHistory(self._store, conn))

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[PostgresProjectionUnit]:
        """A unit in a transaction of its own, committed when the block ends without error."""
        async with self._engine.begin() as conn:
            yield self.within(conn)
