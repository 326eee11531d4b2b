"""Keeping the facts up to date as events arrive, and rebuilding them from the event store.

The live path evolves a stream's kept facts by its next event (one event's work, whatever the
stream's length); when an earlier event of the stream has not been folded yet (delivered out of
order, or parked in the dead-letter queue), it folds the whole stream again from the event store.
The replay folds every stream from the store. Both give the same facts for the same events,
whatever the order or number of deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from helpdesk_metrics.application.ports import FactsRepository, ProjectionUnit
from helpdesk_metrics.domain.calls import CallFacts, evolve_call, fold_call
from helpdesk_metrics.domain.facts import TicketFacts, evolve_ticket, fold_ticket
from helpdesk_metrics.domain.records import EventRecord, Step, next_step
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent

F = TypeVar("F", TicketFacts, CallFacts)


@dataclass(frozen=True)
class _Folding(Generic[F]):
    """How one stream category's facts are evolved and folded."""

    evolve: Callable[[F | None, EventRecord], F | None]
    fold: Callable[[list[EventRecord]], F | None]


_CALLS = _Folding[CallFacts](evolve_call, fold_call)

#: Stream categories whose events feed the figures; the others are not kept.
PROJECTED = frozenset({"ticket", "call"})


async def project(unit: ProjectionUnit, record: EventRecord, calendar: BusinessCalendar) -> bool:
    """Apply one event to the facts in `unit`'s transaction; False when it changed nothing
    (ignored or redelivered).

    Ticket facts are saved with their business durations on `calendar`.
    """
    if record.category not in PROJECTED:
        return False
    repository = unit.facts
    await repository.lock_stream(record.stream_id)
    key = record.stream_id.partition("-")[2]

    def history() -> Awaitable[list[RecordedEvent]]:
        return unit.history.read_stream(record.stream_id)

    if record.category == "ticket":
        ticket = await repository.ticket(key)
        tickets = _Folding[TicketFacts](
            lambda kept, event: evolve_ticket(kept, event, calendar),
            lambda events: fold_ticket(events, calendar),
        )
        return await _advance(repository, history, record, ticket, tickets)
    call = await repository.call(key)
    return await _advance(repository, history, record, call, _CALLS)


async def _advance(
    repository: FactsRepository,
    history: Callable[[], Awaitable[list[RecordedEvent]]],
    record: EventRecord,
    kept: F | None,
    folding: _Folding[F],
) -> bool:
    """Evolve, skip or refold (from the stream's `history` in the store), then save."""
    step = next_step(None if kept is None else kept.last_version, record.version)
    if step is Step.SKIP:
        return False
    if step is Step.EVOLVE:
        facts = folding.evolve(kept, record)
    else:
        facts = folding.fold([record_of(e) for e in await history()])
    if facts is not None:
        await repository.save(facts)
    return True


def record_of(event: RecordedEvent) -> EventRecord:
    return EventRecord(event.stream_id, event.version, event.type, event.data, event.recorded_at)


@dataclass(frozen=True)
class ReplayResult:
    events_read: int
    events_kept: int
    tickets: int
    calls: int


async def replay(
    unit: ProjectionUnit,
    calendar: BusinessCalendar,
    page_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Rebuild every fact from the event store from scratch, inside `unit`'s transaction.

    Live handlers wait on the table locks until the transaction commits, then carry on: an event
    they deliver afterwards is already folded (its version is not above the facts') and changes
    nothing. `progress` is told the running count of events read, page by page.
    """
    repository = unit.facts
    await repository.clear()
    streams: dict[str, list[EventRecord]] = defaultdict(list)
    after: LogPosition | None = None
    read = kept = 0
    while page := await unit.history.read_all(after, page_size):
        read += len(page)
        if progress is not None:
            progress(read)
        after = page[-1].log_position
        for event in page:
            if event.category in PROJECTED:
                kept += 1
                streams[event.stream_id].append(record_of(event))
    tickets = [
        t for s in streams.values() if s[0].category == "ticket" if (t := fold_ticket(s, calendar))
    ]
    calls = [c for s in streams.values() if s[0].category == "call" if (c := fold_call(s))]
    await repository.load(tickets, calls)
    return ReplayResult(read, kept, len(tickets), len(calls))
