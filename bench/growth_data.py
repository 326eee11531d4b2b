"""A desk's history for the growth benchmark: realistic ticket streams, copied into the store.

Each ticket is the shared contract's events (`helpdesk_shared.events.ticket`), built as domain
events and serialised by `NewEvent.from_domain`, so the stored rows are exactly what the ticket
service writes. Two tickets in three are closed (nine events: opened, qualified, taken, a
comment, on hold, resumed, a comment, resolved, closed), the third is still being worked on
(eight events: a last comment instead of the resolution): about 8.7 events per ticket. Opening
times spread over the last 13 months, so a month's and a year's indicators both have work to do
at every size.

The rows go in with `COPY` (asyncpg's `copy_records_to_table`), in chunks of their own
transactions: filling a million events by the store's `append` would take most of the run. The
ticket list's rows can come with them, computed by the list projection's own code (the ticket
decider's fold and `projection.row`, as the subscription computes them): the subscription
itself handles about 250-1,000 events/s on this machine, hours for a million.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    Closed,
    ClosureCode,
    CommentAdded,
    HoldReason,
    Impact,
    PreQualification,
    Priority,
    PutOnHold,
    RequesterSnapshot,
    Resumed,
    TicketEvent,
    TicketOpened,
    TicketQualified,
    TicketResolved,
    TicketTaken,
    TicketType,
    Urgency,
    Visibility,
)
from helpdesk_shared.eventstore.model import NewEvent
from helpdesk_shared.kernel import Decider
from helpdesk_ticket.adapters.projection import _COLUMNS as _TICKET_COLUMNS
from helpdesk_ticket.adapters.projection import row
from helpdesk_ticket.domain.ticket import ticket_decider
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.state import Ticket

TicketDecider = Decider[Any, Ticket, TicketEvent]

#: Golden-ratio spacing: ticket n's opening falls at a well-spread point of the 13 months, so
#: every batch added covers the whole period as the desk's history would.
_SPREAD = 0.6180339887498949
_PERIOD = timedelta(days=395)
_SUBJECTS = (
    "Imprimante du secrétariat hors service",
    "Mot de passe expiré sur la messagerie",
    "Écran noir au démarrage du poste",
    "Accès refusé au partage réseau",
    "Installation du logiciel de comptabilité",
    "Téléphone sans tonalité au standard",
)
_COLUMNS = (
    "stream_id",
    "version",
    "event_id",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
)
#: Tickets still open: every third one; `open_ticket_ids` names them for the commands.
OPEN_EVERY = 3


def ticket_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n + 1)


def ticket_events(n: int, now: datetime) -> list[TicketEvent]:
    """Ticket n's stream, in order."""
    opened_at = now - _PERIOD + _PERIOD * ((n * _SPREAD) % 1.0)
    # The group independent of whether the ticket is still open (every third one).
    ident, agent = ticket_id(n), f"agent{n % 25}"
    group = ("desk", "proximite", "reseau")[(n // OPEN_EVERY) % 3]

    def at(minutes: float) -> datetime:
        return opened_at + timedelta(minutes=minutes)

    common = {"ticket_id": ident}
    subject = _SUBJECTS[n % len(_SUBJECTS)]
    events: list[TicketEvent] = [
        TicketOpened(
            **common,
            occurred_at=at(0),
            reference=f"INC-{n:08d}",
            type=TicketType.INCIDENT,
            channel=(Channel.WEB, Channel.EMAIL, Channel.PHONE)[n % 3],
            requester=RequesterSnapshot(login=f"user{n % 5000}", name=f"Usager {n % 5000}"),
            subject=f"{subject} (poste {n % 900})",
            description=f"{subject}. Le problème revient chaque matin depuis {n % 9 + 1} jours.",
            category=f"categorie{n % 12}",
            asset_tag=f"PC-{n % 900:04d}",
            group=group,
            pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
            received_at=at(0),
        ),
        TicketQualified(
            **common,
            occurred_at=at(2),
            type=TicketType.INCIDENT,
            category=f"categorie{n % 12}",
            impact=Impact.LOW,
            urgency=(Urgency.LOW, Urgency.MEDIUM)[n % 2],
            priority=(Priority.LOW, Priority.MEDIUM)[n % 2],
            by=agent,
        ),
        TicketTaken(
            **common, occurred_at=at(5 + n % 40), agent=agent, group=group, level=1, by=agent
        ),
        CommentAdded(
            **common,
            occurred_at=at(50),
            text="Diagnostic en cours",
            visibility=Visibility.INTERNAL,
            by=agent,
        ),
        PutOnHold(**common, occurred_at=at(60), reason=HoldReason.WAITING_REQUESTER, by=agent),
        Resumed(**common, occurred_at=at(180), by=agent),
        CommentAdded(
            **common,
            occurred_at=at(200),
            text="Pouvez-vous redémarrer ?",
            visibility=Visibility.PUBLIC,
            by=agent,
        ),
    ]
    if n % OPEN_EVERY == 0:
        events.append(
            CommentAdded(
                **common,
                occurred_at=at(240),
                text="Toujours en cours",
                visibility=Visibility.PUBLIC,
                by=agent,
            )
        )
        return events
    return [
        *events,
        TicketResolved(
            **common,
            occurred_at=at(300),
            solution="Pilote réinstallé",
            resolution_code="fixed",
            first_contact=n % 4 == 0,
            level=1,
            group=group,
            by=agent,
        ),
        Closed(
            **common,
            occurred_at=at(24 * 60 * 3),
            code=ClosureCode.RESOLVED,
            solution="Pilote réinstallé",
            by=agent,
        ),
    ]


def _event_row(stream: str, version: int, event: TicketEvent) -> tuple[object, ...]:
    new = NewEvent.from_domain(event)
    return (
        stream,
        version,
        new.event_id,
        new.type,
        new.schema_version,
        json.dumps(new.data),
        json.dumps(new.metadata.to_json()),
        event.occurred_at,
    )


def _ticket_row(
    events: list[TicketEvent], decider: TicketDecider, policy: TicketPolicy
) -> tuple[object, ...]:
    """The list projection's row, by the projection's own code: the decider's fold, then
    `row()` at the last event's time, as the subscription computes it on that event."""
    state = decider.fold(None, events)
    assert state is not None
    projected = row(state, len(events), policy, events[-1].occurred_at)
    return tuple(projected[column] for column in _TICKET_COLUMNS)


async def fill(
    dsn: str, first: int, count: int, policy: TicketPolicy | None = None, chunk: int = 2000
) -> int:
    """Copy tickets first..first+count-1 into the store; the number of events written.

    With `policy`, their rows of the ticket list too (the subscription's checkpoint is then
    the caller's to move past them); without, the list is left to the subscription.
    """
    now = datetime.now(UTC)
    decider = ticket_decider(policy) if policy is not None else None
    written = 0
    conn = await asyncpg.connect(dsn)
    try:
        for start in range(first, first + count, chunk):
            events, tickets = [], []
            for n in range(start, min(start + chunk, first + count)):
                stream_events = ticket_events(n, now)
                stream = f"ticket-{ticket_id(n)}"
                events += [_event_row(stream, v, e) for v, e in enumerate(stream_events, 1)]
                if decider is not None and policy is not None:
                    tickets.append(_ticket_row(stream_events, decider, policy))
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "events", schema_name="eventstore", columns=_COLUMNS, records=events
                )
                if tickets:
                    await conn.copy_records_to_table(
                        "tickets", schema_name="ticket", columns=_TICKET_COLUMNS, records=tickets
                    )
            written += len(events)
    finally:
        await conn.close()
    return written


def open_ticket_ids(tickets: int) -> list[uuid.UUID]:
    return [ticket_id(n) for n in range(0, tickets, OPEN_EVERY)]
