"""Keeping the facts up to date as events arrive, and rebuilding them from the event store.

Both paths fold each stream from all of its events in stream order, so the same set of events
gives the same facts whatever the order or number of deliveries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.domain.calls import fold_call
from helpdesk_metrics.domain.facts import fold_ticket
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore

#: Stream categories whose events feed the figures; the others are not kept.
PROJECTED = frozenset({"ticket", "call"})


async def project(conn: AsyncConnection, event_id: uuid.UUID, record: EventRecord) -> bool:
    """Apply one event to the facts; False when it changed nothing (ignored or redelivered)."""
    if record.category not in PROJECTED:
        return False
    repository = FactsRepository(conn)
    await repository.lock_stream(record.stream_id)
    if not await repository.add_event(event_id, record):
        return False
    await _refold(repository, record.category, await repository.stream_events(record.stream_id))
    return True


async def _refold(repository: FactsRepository, category: str, stream: list[EventRecord]) -> None:
    if category == "ticket":
        ticket = fold_ticket(stream)
        if ticket is not None:
            await repository.save_tickets([ticket])
    else:
        call = fold_call(stream)
        if call is not None:
            await repository.save_calls([call])


def record_of(event: RecordedEvent) -> EventRecord:
    return EventRecord(event.stream_id, event.version, event.type, event.data, event.recorded_at)


@dataclass(frozen=True)
class ReplayResult:
    events_read: int
    events_kept: int
    tickets: int
    calls: int


async def replay(store: EventStore, conn: AsyncConnection, page_size: int = 5000) -> ReplayResult:
    """Rebuild every fact from the event store from scratch, inside the caller's transaction.

    Live handlers wait on the table locks until the transaction commits, then carry on: an event
    they deliver afterwards is already kept and changes nothing.
    """
    repository = FactsRepository(conn)
    await repository.clear()
    streams: dict[str, list[EventRecord]] = defaultdict(list)
    kept: dict[uuid.UUID, EventRecord] = {}
    after: LogPosition | None = None
    read = 0
    while page := await store.read_all(after, limit=page_size, conn=conn):
        read += len(page)
        after = page[-1].log_position
        for event in page:
            if event.category in PROJECTED and event.event_id not in kept:
                record = record_of(event)
                kept[event.event_id] = record
                streams[event.stream_id].append(record)
    tickets = [t for s in streams.values() if s[0].category == "ticket" if (t := fold_ticket(s))]
    calls = [c for s in streams.values() if s[0].category == "call" if (c := fold_call(s))]
    await repository.load(list(kept.items()), tickets, calls)
    return ReplayResult(read, len(kept), len(tickets), len(calls))
