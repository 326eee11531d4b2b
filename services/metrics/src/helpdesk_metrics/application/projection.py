"""Keeping the facts up to date as events arrive, and rebuilding them from the event store.

One fold, `fold_streams`, serves both. It advances a stream's kept facts by its next events (a
batch's or a page's, frozen once for the lot: their work, whatever the stream's length); when an
earlier event of the stream has not been folded yet (delivered out of order, parked in the
dead-letter queue, or shown later by the log), it folds the whole stream again from the event
store. The live batches keep the facts in the tables (`project_all`); the replay keeps them in
memory page after page, from empty tables, and loads them at the end. Both give the same facts
for the same events, whatever the order or number of deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from helpdesk_metrics.application.ports import ProjectionUnit
from helpdesk_metrics.domain.calls import CallFacts, advance_call, fold_call
from helpdesk_metrics.domain.facts import TicketFacts, advance_ticket, fold_ticket
from helpdesk_metrics.domain.records import EventRecord, Step, next_step
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent

F = TypeVar("F", TicketFacts, CallFacts)


@dataclass(frozen=True)
class _Folding(Generic[F]):
    """How one stream category's facts are advanced by their next events and folded whole."""

    advance: Callable[[F | None, Sequence[EventRecord]], F | None]
    fold: Callable[[list[EventRecord]], F | None]


#: Stream categories whose events feed the figures; the others are not kept.
PROJECTED = frozenset({"ticket", "call"})

#: A stream's kept facts, by stream id (`ticket-<id>`, `call-<id>`).
Kept = dict[str, TicketFacts | CallFacts]
#: Reads a stream's whole history from the store (to fold it again).
History = Callable[[str], Awaitable[list[RecordedEvent]]]


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
    streams = by_stream(records)
    if not streams:
        return 0
    repository = unit.facts
    await repository.lock_streams(sorted(streams))
    keys = {stream: stream.partition("-")[2] for stream in streams}
    tickets = await repository.tickets_of([keys[s] for s in streams if s.startswith("ticket-")])
    calls = await repository.calls_of([keys[s] for s in streams if s.startswith("call-")])
    kept: Kept = {
        stream: facts
        for stream, key in keys.items()
        if (facts := (tickets if stream.startswith("ticket-") else calls).get(key)) is not None
    }
    applied, changed = await fold_streams(streams, kept, unit.history.read_stream, calendar)
    await repository.save_all(list(changed.values()))
    return applied


def by_stream(records: Iterable[EventRecord]) -> dict[str, list[EventRecord]]:
    """The projected records by stream, each stream's in the order given."""
    streams: dict[str, list[EventRecord]] = defaultdict(list)
    for record in records:
        if record.category in PROJECTED:
            streams[record.stream_id].append(record)
    return streams


async def fold_streams(
    streams: Mapping[str, list[EventRecord]],
    kept: Mapping[str, TicketFacts | CallFacts],
    history: History,
    calendar: BusinessCalendar,
) -> tuple[int, Kept]:
    """(how many events were applied, the changed facts by stream) after applying each stream's
    records to its `kept` facts: the one fold of the live batches and of the rebuild's pages.

    Each stream's next events are applied together (frozen once); a redelivered one is skipped;
    one ahead of a missing version folds the stream again from its `history` in the store.
    """
    ticket_folding = _Folding[TicketFacts](
        lambda facts, events: advance_ticket(facts, events, calendar),
        lambda events: fold_ticket(events, calendar),
    )
    changed: Kept = {}
    applied = 0
    for stream, stream_records in streams.items():
        folded: _Folded[Any]
        if stream_records[0].category == "ticket":
            folded = _Folded(kept.get(stream), ticket_folding)
        else:
            folded = _Folded(kept.get(stream), _CALLS)
        applied += await folded.advance(stream_records, _history_of(history, stream))
        if folded.changed and folded.kept is not None:
            changed[stream] = folded.kept
    return applied, changed


_CALLS = _Folding[CallFacts](advance_call, fold_call)


def _history_of(history: History, stream_id: str) -> Callable[[], Awaitable[list[RecordedEvent]]]:
    return lambda: history(stream_id)


class _Folded(Generic[F]):
    """One stream's facts as its events are applied: advanced, skipped or folded again."""

    def __init__(self, kept: F | None, folding: _Folding[F]) -> None:
        self.kept: F | None = kept
        self.folding: _Folding[F] = folding
        self.changed = False

    async def advance(
        self, records: Sequence[EventRecord], history: Callable[[], Awaitable[list[RecordedEvent]]]
    ) -> int:
        """Apply `records`, in order: the run of next versions together, a redelivery skipped,
        one ahead of a missing version by folding the stream from its `history`. Returns how
        many were applied (all but the skipped)."""
        run: list[EventRecord] = []
        last = None if self.kept is None else self.kept.last_version
        applied = 0
        for record in records:
            step = next_step(last, record.version)
            if step is Step.SKIP:
                continue
            applied += 1
            if step is Step.EVOLVE:
                run.append(record)
                last = record.version
                continue
            # The stored history holds the run too: fold it all, start a new run after it.
            run = []
            self._update(self.folding.fold([record_of(e) for e in await history()]))
            last = None if self.kept is None else self.kept.last_version
        if run:
            self._update(self.folding.advance(self.kept, run))
        return applied

    def _update(self, facts: F | None) -> None:
        if facts is not None:
            self.kept, self.changed = facts, True


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

    Each page of the log is folded by `fold_streams`, the live batches' own fold, onto the facts
    folded so far (kept in memory: the tables were just emptied, and only this transaction
    writes them), then the lot is loaded at the end. No stream locks: `clear` holds the tables
    exclusively, which is what keeps the live handlers out. They wait on those locks until the
    transaction commits, then carry on: an event they deliver afterwards is already folded (its
    version is not above the facts') and changes nothing. `progress` is told the running count
    of events read, page by page.
    """
    repository = unit.facts
    await repository.clear()
    folded: Kept = {}
    after: LogPosition | None = None
    read = kept = 0
    while (page := await unit.history.read_page(after, page_size, PROJECTED)).read:
        read += page.read
        kept += len(page.records)
        if progress is not None:
            progress(read)
        after = page.end
        _, changed = await fold_streams(
            by_stream(page.records), folded, unit.history.read_stream, calendar
        )
        folded.update(changed)
    tickets = [f for f in folded.values() if isinstance(f, TicketFacts)]
    calls = [f for f in folded.values() if isinstance(f, CallFacts)]
    await repository.load(tickets, calls)
    return ReplayResult(read, kept, len(tickets), len(calls))
