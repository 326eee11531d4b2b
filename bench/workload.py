"""The events every system under test writes: the same realistic `TicketOpened` rows for all.

Each system receives the same Python dicts and serialises them itself, inside its timed section,
as an application would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    PreQualification,
    Reason,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.eventstore.model import EventMetadata, NewEvent

EVENT_TYPE = TicketOpened.event_type()


def _template() -> dict[str, Any]:
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    opened = TicketOpened(
        ticket_id=uuid.UUID(int=0),
        occurred_at=now,
        reference="INC-2026-000001",
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(
            login="cdupont",
            name="Camille Dupont",
            email="camille.dupont@example.fr",
            phone="+33 1 23 45 67 89",
            organisation="Direction des finances",
            department="Comptabilité",
            office="Bâtiment B, bureau 214",
        ),
        subject="Impossible d'imprimer depuis le poste de travail",
        description=(
            "Depuis ce matin, l'imprimante du deuxième étage refuse les travaux d'impression "
            "envoyés depuis mon poste ; le message « file d'attente suspendue » s'affiche."
        ),
        category="impression",
        asset_tag="PC-004217",
        pre_qualification=PreQualification(
            outcome=Admissibility.ADMISSIBLE,
            reasons=(Reason(rule="contract", message="Poste couvert par le contrat de support"),),
        ),
        received_at=now,
        opened_by="cdupont",
    )
    return opened.to_data()


TEMPLATE: dict[str, Any] = _template()


@dataclass(frozen=True)
class Event:
    """One event to write, as the application hands it over."""

    event_id: uuid.UUID
    data: dict[str, Any]
    metadata: dict[str, Any]


def make_event() -> Event:
    """A `TicketOpened` body with fresh ids (the body's size is the same for every event)."""
    event_id = uuid.uuid4()
    data = {**TEMPLATE, "ticket_id": str(uuid.uuid4())}
    metadata = {"correlation_id": str(event_id), "causation_id": None, "actor": "cdupont"}
    return Event(event_id=event_id, data=data, metadata=metadata)


def make_batch(size: int) -> list[Event]:
    return [make_event() for _ in range(size)]


def to_new_event(event: Event) -> NewEvent:
    """The event store's input type for the same event."""
    return NewEvent(
        type=EVENT_TYPE,
        data=event.data,
        metadata=EventMetadata.from_json(event.metadata),
        event_id=event.event_id,
    )
