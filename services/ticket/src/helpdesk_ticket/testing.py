"""Builders for the ticket service's tests: an opened ticket, commands run through decide+evolve."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    PreQualification,
    RequesterSnapshot,
    TicketEvent,
    TicketOpened,
    TicketType,
)
from helpdesk_ticket.domain.ticket.commands import Command
from helpdesk_ticket.domain.ticket.decide import decide
from helpdesk_ticket.domain.ticket.evolve import evolve
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY, TicketPolicy
from helpdesk_ticket.domain.ticket.state import Ticket

# Monday 2 December 2024, 09:00 in Paris (08:00 UTC): a working day.
MONDAY_9 = datetime(2024, 12, 2, 8, 0, tzinfo=UTC)


def opened(
    at: datetime = MONDAY_9,
    requester: str = "alice",
    group: str = "desk",
    level: int = 1,
    organisation_kind: str | None = None,
) -> TicketOpened:
    ticket_id = uuid.uuid4()
    return TicketOpened(
        ticket_id=ticket_id,
        occurred_at=at,
        reference="DSI-2024-000001",
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(
            login=requester, name="Alice Martin", organisation_kind=organisation_kind
        ),
        subject="Imprimante bloquée",
        description="L'imprimante du 2e étage n'imprime plus",
        pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
        group=group,
        level=level,
        received_at=at,
    )


def start(event: TicketOpened | None = None) -> Ticket:
    state = evolve(None, event or opened())
    assert state is not None
    return state


def run(
    state: Ticket, *commands: Command, policy: TicketPolicy = DEFAULT_POLICY
) -> tuple[Ticket, list[TicketEvent]]:
    """Decide and apply each command in turn; the state and every event recorded."""
    recorded: list[TicketEvent] = []
    for command in commands:
        events = decide(command, state, policy)
        for event in events:
            new = evolve(state, event)
            assert new is not None
            state = new
        recorded.extend(events)
    return state, recorded
