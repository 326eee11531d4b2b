"""A request decided again in scope (verified, or the contract extended) tells its requester."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from helpdesk_notify.domain.notifications import Routing, plan
from helpdesk_notify.domain.tickets import TicketView, evolve
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    AdmissibilityRedecided,
    Channel,
    PreQualification,
    RedecisionReason,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)

TICKET = uuid.uuid4()
NOW = datetime.now(UTC)
ROUTING = Routing()


def opened(outcome: str) -> TicketOpened:
    return TicketOpened(
        ticket_id=TICKET,
        occurred_at=NOW,
        reference="INC-2026-000042",
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(
            login="jdupont", name="Jean Dupont", email="jean.dupont@ac-paris.fr"
        ),
        subject="Macro Excel en erreur",
        description="La macro de suivi ne se lance plus.",
        pre_qualification=PreQualification(outcome=Admissibility(outcome)),
        received_at=NOW,
    )


def view_after(*events: tuple[DomainEvent, uuid.UUID]) -> TicketView | None:
    view: TicketView | None = None
    for event, event_id in events:
        view = evolve(view, event, event_id)
    return view


def redecided(decision: Decision, reason: RedecisionReason) -> AdmissibilityRedecided:
    return AdmissibilityRedecided(
        ticket_id=TICKET,
        occurred_at=NOW,
        admissibility=AdmissibilityEvidence(decision=decision, contract_version=2),
        reason=reason,
        by="intake",
    )


def test_unit_an_extension_bringing_the_request_in_scope_mails_the_requester_in_french() -> None:
    event, event_id = redecided(Decision.IN_SCOPE, RedecisionReason.CONTRACT_EXTENDED), uuid.uuid4()
    view = view_after((opened(outcome="out_of_scope"), uuid.uuid4()), (event, event_id))
    assert view is not None
    assert not view.out_of_scope
    (notification,) = plan(event, event_id, view, ROUTING)
    assert notification.template == "admissibility_in_scope"
    assert notification.recipient == "jean.dupont@ac-paris.fr"
    assert notification.mail is not None
    assert "[INC-2026-000042]" in notification.mail.subject
    assert "couvre désormais" in notification.mail.text
    assert view.history[-1].kind == "admissibility_redecided"


def test_unit_a_verified_request_says_the_desk_checked_it() -> None:
    event, event_id = redecided(Decision.IN_SCOPE, RedecisionReason.VERIFIED), uuid.uuid4()
    view = view_after((opened(outcome="to_verify"), uuid.uuid4()), (event, event_id))
    (notification,) = plan(event, event_id, view, ROUTING)
    assert notification.mail is not None
    assert "Après vérification par le guichet" in notification.mail.text


def test_unit_a_decision_still_not_in_scope_sends_nothing() -> None:
    for decision in (Decision.OUT_OF_SCOPE, Decision.TO_VERIFY):
        event, event_id = redecided(decision, RedecisionReason.VERIFIED), uuid.uuid4()
        view = view_after((opened(outcome="to_verify"), uuid.uuid4()), (event, event_id))
        assert plan(event, event_id, view, ROUTING) == ()
    event = redecided(Decision.OUT_OF_SCOPE, RedecisionReason.VERIFIED)
    view = view_after((opened("admissible"), uuid.uuid4()), (event, uuid.uuid4()))
    assert view is not None
    assert view.out_of_scope
