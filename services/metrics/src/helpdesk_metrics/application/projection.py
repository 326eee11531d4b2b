"""Keeping the facts up to date as events arrive, and rebuilding them from the event store.

The live path evolves a stream's kept facts by its next event (one event's work, whatever the
stream's length); when an earlier event of the stream has not been folded yet (delivered out of
order, or parked in the dead-letter queue), it folds the whole stream again from the event store.
The replay folds every stream from the store. Both give the same facts for the same events,
whatever the order or number of deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from helpdesk_metrics.application.ports import ProjectionUnit
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
    (ignored or redelivered)."""
    return await project_all(unit, [record], calendar) > 0


async def project_all(
    unit: ProjectionUnit, records: Sequence[EventRecord], calendar: BusinessCalendar
) -> int:
    """Apply events, in order, to the facts in `unit`'s transaction: the same facts as each
    applied in turn, in three statements for the lot (lock the streams, read their kept facts,
    save the changed ones) plus a read of the store per stream that must be folded again.
    Returns how many events changed something.

    Ticket facts are saved with their business durations on `calendar`.
    """
    streams: dict[str, list[EventRecord]] = defaultdict(list)
    for record in records:
        if record.category in PROJECTED:
            streams[record.stream_id].append(record)
    if not streams:
        return 0
    repository = unit.facts
    await repository.lock_streams(sorted(streams))
    keys = {stream: stream.partition("-")[2] for stream in streams}
    tickets = await repository.tickets_of([keys[s] for s in streams if s.startswith("ticket-")])
    calls = await repository.calls_of([keys[s] for s in streams if s.startswith("call-")])
    ticket_folding = _Folding[TicketFacts](
        lambda kept, event: evolve_ticket(kept, event, calendar),
        lambda events: fold_ticket(events, calendar),
    )
    changed: list[TicketFacts | CallFacts] = []
    applied = 0
    for stream, stream_records in streams.items():
        folded: _Folded[Any]
        if stream_records[0].category == "ticket":
            folded = _Folded(tickets.get(keys[stream]), ticket_folding)
        else:
            folded = _Folded(calls.get(keys[stream]), _CALLS)
        for record in stream_records:
            applied += await folded.advance(record, _history_of(unit, stream))
        if folded.changed and folded.kept is not None:
            changed.append(folded.kept)
    await repository.save_all(changed)
    return applied


def _history_of(
    unit: ProjectionUnit, stream_id: str
) -> Callable[[], Awaitable[list[RecordedEvent]]]:
    return lambda: unit.history.read_stream(stream_id)


class _Folded(Generic[F]):
    """One stream's facts as its events are applied: evolved, skipped or folded again."""

    def __init__(self, kept: F | None, folding: _Folding[F]) -> None:
        self.kept: F | None = kept
        self.folding: _Folding[F] = folding
        self.changed = False

    async def advance(
        self, record: EventRecord, history: Callable[[], Awaitable[list[RecordedEvent]]]
    ) -> bool:
        """Evolve, skip or refold (from the stream's `history` in the store); True if applied."""
        step = next_step(None if self.kept is None else self.kept.last_version, record.version)
        if step is Step.SKIP:
            return False
        if step is Step.EVOLVE:
            facts = self.folding.evolve(self.kept, record)
        else:
            facts = self.folding.fold([record_of(e) for e in await history()])
        if facts is not None:
            self.kept, self.changed = facts, True
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
