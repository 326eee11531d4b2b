"""The SLA watcher's handler on the in-memory event store: each fact recorded once, also when
another writer appends between its load and its append."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from helpdesk_shared.events.ticket import SlaBreached, SlaWarning
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_ticket.application.sla_watcher import SlaWatcher
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.testing import MONDAY_9, opened


async def test_warnings_and_breaches_are_recorded_once_despite_a_race() -> None:
    store = MemoryEventStore()
    event = opened(at=MONDAY_9)  # a working Monday: the business clock runs
    await store.append(
        ticket_stream(event.ticket_id), ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)]
    )
    now = [MONDAY_9]
    tickets = TicketService(store, DEFAULT_POLICY, lambda: now[0])

    async def due(at: datetime) -> list[uuid.UUID]:
        return [event.ticket_id]

    watcher = SlaWatcher(tickets, due, interval=1)
    now[0] = MONDAY_9 + timedelta(minutes=25)
    racing = [True]

    async def second_watcher(stream: str) -> None:
        """Another replica's watcher records the same warning first, once."""
        if racing:
            racing.clear()
            await SlaWatcher(TicketService(store, DEFAULT_POLICY), due, 1).check(
                event.ticket_id, now[0]
            )

    tickets.aggregates.before_append = second_watcher
    assert await watcher.check_once() == 0  # lost the race; decided again: nothing left to say
    tickets.aggregates.before_append = None
    assert await watcher.check_once() == 0
    now[0] = MONDAY_9 + timedelta(minutes=31)
    assert await watcher.check_once() == 1
    assert await watcher.check_once() == 0
    types = [e.type for e in await store.read_stream(ticket_stream(event.ticket_id))]
    assert types.count(SlaWarning.event_type()) == 1
    assert types.count(SlaBreached.event_type()) == 1
