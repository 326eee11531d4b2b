"""The metrics handlers (the live projection, the replay, the KPI query) on in-memory fakes of
their ports: no PostgreSQL, no broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_metrics.application.ports import LogPage
from helpdesk_metrics.application.projection import project, project_all, record_of, replay
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.calls import CallFacts, fold_call
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import TicketFacts, fold_ticket
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.domain.recurring import ProblemCandidate, recurring_incidents
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.eventstore.model import EventMetadata, LogPosition, RecordedEvent

CALENDAR = BusinessCalendar()
T0 = (datetime.now(UTC) - timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
TICKET = str(uuid.uuid4())
CALL = str(uuid.uuid4())


def ev(version: int, type_: str, minutes: float, **data: Any) -> RecordedEvent:
    at = T0 + timedelta(minutes=minutes)
    return RecordedEvent(
        global_position=version,
        tx_id=version,
        stream_id=f"ticket-{TICKET}",
        version=version,
        event_id=uuid.uuid4(),
        type=type_,
        schema_version=1,
        data={"ticket_id": TICKET, "occurred_at": at.isoformat(), **data},
        metadata=EventMetadata(),
        recorded_at=at + timedelta(seconds=1),
    )


def ticket_stream() -> list[RecordedEvent]:
    return [
        ev(
            1,
            "TicketOpened",
            0,
            reference="INC-1",
            type="incident",
            channel="email",
            requester={"login": "jdoe", "name": "J Doe"},
            category="printer",
            pre_qualification={"outcome": "admissible", "reasons": []},
            group="desk",
            level=1,
            received_at=T0.isoformat(),
        ),
        ev(2, "TicketTaken", 10, by="agent1"),
        ev(3, "TicketResolved", 60, solution="cable", first_contact=True, level=1),
        ev(4, "Closed", 100, code="resolved", by="agent1"),
    ]


def call_event(position: int) -> RecordedEvent:
    return RecordedEvent(
        global_position=position,
        tx_id=position,
        stream_id=f"call-{CALL}",
        version=1,
        event_id=uuid.uuid4(),
        type="CallRecorded",
        schema_version=1,
        data={
            "call_id": CALL,
            "occurred_at": T0.isoformat(),
            "offered_at": T0.isoformat(),
            "answered_at": (T0 + timedelta(seconds=20)).isoformat(),
            "outcome": "answered",
        },
        metadata=EventMetadata(),
        recorded_at=T0,
    )


@dataclass
class FakeFacts:
    """The facts tables in memory, moving forward only, as the PostgreSQL repository does."""

    tickets_by_id: dict[str, TicketFacts] = field(default_factory=dict)
    calls_by_id: dict[str, CallFacts] = field(default_factory=dict)
    locked: list[str] = field(default_factory=list)
    saves: int = 0
    cleared: bool = False
    read_with: list[tuple[Any, ...]] = field(default_factory=list)

    async def lock_streams(self, stream_ids: Sequence[str]) -> None:
        self.locked.extend(stream_ids)

    async def tickets_of(self, ticket_ids: Sequence[str]) -> dict[str, TicketFacts]:
        return {i: self.tickets_by_id[i] for i in ticket_ids if i in self.tickets_by_id}

    async def calls_of(self, call_ids: Sequence[str]) -> dict[str, CallFacts]:
        return {i: self.calls_by_id[i] for i in call_ids if i in self.calls_by_id}

    async def save_all(self, facts: Sequence[TicketFacts | CallFacts]) -> None:
        for kept in facts:
            self.saves += 1
            if isinstance(kept, TicketFacts):
                before = self.tickets_by_id.get(kept.ticket_id)
                if before is None or before.last_version < kept.last_version:
                    self.tickets_by_id[kept.ticket_id] = kept
            else:
                self.calls_by_id[kept.call_id] = kept

    async def clear(self) -> None:
        self.cleared = True
        self.tickets_by_id.clear()
        self.calls_by_id.clear()

    async def load(self, tickets: Sequence[TicketFacts], calls: Sequence[CallFacts]) -> None:
        self.tickets_by_id.update({t.ticket_id: t for t in tickets})
        self.calls_by_id.update({c.call_id: c for c in calls})

    async def tickets(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[TicketFacts]:
        self.read_with.append(("tickets", received_before, open_at_or_after, group, channel))
        return list(self.tickets_by_id.values())

    async def ticket_pages(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> AsyncIterator[list[TicketFacts]]:
        """Every ticket kept, one per page (the report must not depend on the paging)."""
        for ticket in await self.tickets(received_before, open_at_or_after, group, channel):
            yield [ticket]

    async def recurring(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        window: Period,
        threshold: int,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[ProblemCandidate]:
        self.read_with.append(("recurring", window, threshold, group, channel))
        kept = [t for t in self.tickets_by_id.values() if Filters(group, channel).keeps(t)]
        return recurring_incidents(kept, window, threshold)

    async def calls(self, offered_from: datetime, offered_before: datetime) -> list[CallFacts]:
        self.read_with.append(("calls", offered_from, offered_before))
        return list(self.calls_by_id.values())


@dataclass
class FakeStore:
    log: list[RecordedEvent] = field(default_factory=list)
    stream_reads: int = 0
    pages: int = 0

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        self.stream_reads += 1
        return [e for e in self.log if e.stream_id == stream_id]

    async def read_page(
        self, after: LogPosition | None, limit: int, categories: frozenset[str]
    ) -> LogPage:
        self.pages += 1
        start = 0 if after is None else [e.log_position for e in self.log].index(after) + 1
        page = self.log[start : start + limit]
        kept = [record_of(e) for e in page if e.category in categories]
        return LogPage(len(page), page[-1].log_position if page else None, kept)


@dataclass
class FakeUnit:
    facts: FakeFacts = field(default_factory=FakeFacts)
    history: FakeStore = field(default_factory=FakeStore)


def records(events: list[RecordedEvent]) -> list[EventRecord]:
    return [record_of(e) for e in events]


async def test_events_in_order_evolve_the_facts_without_reading_the_store() -> None:
    unit = FakeUnit()
    stream = ticket_stream()
    unit.history.log = stream
    for event in stream:
        assert await project(unit, record_of(event), CALENDAR)
    assert unit.facts.tickets_by_id[TICKET] == fold_ticket(records(stream), CALENDAR)
    assert unit.history.stream_reads == 0
    assert unit.facts.locked == [f"ticket-{TICKET}"] * len(stream)


async def test_a_redelivered_event_changes_nothing() -> None:
    unit = FakeUnit()
    stream = ticket_stream()
    for event in stream[:2]:
        await project(unit, record_of(event), CALENDAR)
    saves = unit.facts.saves
    assert not await project(unit, record_of(stream[1]), CALENDAR)
    assert not await project(unit, record_of(stream[0]), CALENDAR)
    assert unit.facts.saves == saves


async def test_an_event_ahead_of_a_missing_one_folds_the_stream_from_the_store() -> None:
    unit = FakeUnit()
    stream = ticket_stream()
    unit.history.log = stream[:3]  # the store has version 2; it was not delivered yet
    assert await project(unit, record_of(stream[0]), CALENDAR)
    assert await project(unit, record_of(stream[2]), CALENDAR)
    assert unit.history.stream_reads == 1
    assert unit.facts.tickets_by_id[TICKET] == fold_ticket(records(stream[:3]), CALENDAR)
    assert not await project(unit, record_of(stream[1]), CALENDAR)  # folded already


async def test_a_call_is_projected_and_other_categories_are_ignored() -> None:
    unit = FakeUnit()
    call = call_event(1)
    assert await project(unit, record_of(call), CALENDAR)
    assert unit.facts.calls_by_id[CALL] == fold_call([record_of(call)])
    other = EventRecord("problem-1", 1, "ProblemOpened", {}, T0)
    assert not await project(unit, other, CALENDAR)
    assert unit.facts.locked == [f"call-{CALL}"]  # no lock taken for what is not projected


async def test_the_replay_rebuilds_every_fact_from_the_whole_log_in_pages() -> None:
    unit = FakeUnit()
    stale = fold_ticket(records(ticket_stream()[:1]), CALENDAR)
    assert stale is not None
    unit.facts.tickets_by_id["gone"] = stale
    stream = ticket_stream()
    problem = RecordedEvent(
        global_position=9,
        tx_id=9,
        stream_id="problem-1",
        version=1,
        event_id=uuid.uuid4(),
        type="ProblemOpened",
        schema_version=1,
        data={},
        metadata=EventMetadata(),
        recorded_at=T0,
    )
    unit.history.log = [*stream, call_event(5), problem]
    counts: list[int] = []
    result = await replay(unit, CALENDAR, page_size=2, progress=counts.append)
    assert counts == [2, 4, 6]  # the running count after each page, for the progress line
    assert unit.facts.cleared
    assert set(unit.facts.tickets_by_id) == {TICKET}
    assert unit.facts.tickets_by_id[TICKET] == fold_ticket(records(stream), CALENDAR)
    assert unit.facts.calls_by_id[CALL] == fold_call([record_of(call_event(5))])
    assert (result.events_read, result.events_kept, result.tickets, result.calls) == (6, 5, 1, 1)
    assert unit.history.pages == 4  # three full pages, then the empty one that ends it


async def test_a_batch_advances_each_stream_from_its_kept_facts_and_saves_it_once() -> None:
    unit = FakeUnit()
    stream = ticket_stream()
    unit.history.log = stream
    await project(unit, record_of(stream[0]), CALENDAR)
    saves = unit.facts.saves
    batch = records([stream[1], stream[2], stream[1], stream[0], stream[3]])  # redeliveries
    assert await project_all(unit, batch, CALENDAR) == 3
    assert unit.facts.saves == saves + 1
    assert unit.facts.tickets_by_id[TICKET] == fold_ticket(records(stream), CALENDAR)
    assert unit.history.stream_reads == 0


async def test_the_replay_folds_pages_with_the_batch_fold_and_takes_no_stream_lock() -> None:
    """The log may show a stream's versions out of order (a transaction that began first and
    appended later sorts first): the rebuild folds that stream from the store, as the live
    batches do, and gives the same facts; the cleared tables need no per-stream locks (one
    lock per stream for a whole log would exhaust the server's lock table)."""
    unit = FakeUnit()
    stream = ticket_stream()
    unit.history.log = [stream[0], stream[2], stream[1], stream[3], call_event(5)]
    result = await replay(unit, CALENDAR, page_size=2)
    assert unit.facts.tickets_by_id[TICKET] == fold_ticket(records(stream), CALENDAR)
    assert unit.facts.calls_by_id[CALL] == fold_call([record_of(call_event(5))])
    assert unit.history.stream_reads == 1  # version 3 ahead of version 2
    assert unit.facts.locked == []
    assert (result.events_read, result.events_kept, result.tickets, result.calls) == (5, 5, 1, 1)


async def test_the_kpis_read_only_the_facts_their_period_and_filters_need() -> None:
    facts = FakeFacts()
    ticket = fold_ticket(records(ticket_stream()), CALENDAR)
    assert ticket is not None
    facts.tickets_by_id[TICKET] = ticket
    period = Period(T0 - timedelta(days=1), T0 + timedelta(days=1))
    as_of = T0 + timedelta(days=2)
    everything = await kpis(
        facts, period, Filters(), as_of=as_of, calendar=CALENDAR, recurrence_threshold=3
    )
    by_group = await kpis(
        facts, period, Filters(group="desk"), as_of=as_of, calendar=CALENDAR, recurrence_threshold=3
    )
    relevant_from = period.relevant_from(as_of)
    assert facts.read_with == [
        ("tickets", period.end, relevant_from, None, None),
        ("recurring", period, 3, None, None),
        ("calls", period.start, period.end),
        ("tickets", period.end, relevant_from, "desk", None),  # a group: calls are not read
        ("recurring", period, 3, "desk", None),
    ]
    assert everything == kpi_report(
        [ticket], [], period, Filters(), as_of=as_of, calendar=CALENDAR, recurrence_threshold=3
    )
    assert by_group.filters == Filters(group="desk")
