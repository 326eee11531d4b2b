"""Over HTTP: the ticket view shows the admissibility decision as evidence, old tickets too."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from helpdesk_shared.events.admissibility import (
    AdmissibilityEvidence,
    Decision,
    RuleEvaluation,
    RuleOutcome,
)
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.testing import opened


async def test_the_view_shows_the_contract_version_and_every_rule(
    client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    contract_id = uuid.uuid4()
    evidence = AdmissibilityEvidence(
        decision=Decision.IN_SCOPE,
        contract_id=contract_id,
        contract_version=3,
        rules=(
            RuleEvaluation(
                rule="contract_in_force", outcome=RuleOutcome.PASSED, detail="en vigueur"
            ),
            RuleEvaluation(rule="item_covered", outcome=RuleOutcome.PASSED, detail="Excel couvert"),
        ),
    )
    event = opened(at=datetime.now(UTC)).model_copy(update={"admissibility": evidence})
    await event_store.append(
        f"ticket-{event.ticket_id}",
        ExpectedVersion.NO_STREAM,
        [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
    )
    bob = auth("bob", "agent", groups=["desk"], level=1)
    shown = (await client.get(f"/v1/tickets/{event.ticket_id}", headers=bob)).json()
    assert shown["admissibility"] == {
        "decision": "in_scope",
        "contract_id": str(contract_id),
        "contract_version": 3,
        "rules": [
            {"rule": "contract_in_force", "outcome": "passed", "detail": "en vigueur"},
            {"rule": "item_covered", "outcome": "passed", "detail": "Excel couvert"},
        ],
    }
    assert shown["admissibility_outcome"] == "admissible"


async def test_a_version_1_opening_shows_its_implied_evidence_without_a_version(
    client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    ticket_id = uuid.uuid4()
    contract_id = uuid.uuid4()
    data = opened(at=datetime.now(UTC)).model_copy(update={"ticket_id": ticket_id}).to_data()
    data.pop("admissibility")
    data["pre_qualification"] = {
        "outcome": "out_of_scope",
        "reasons": [{"rule": "not_covered", "message": "Hors périmètre du contrat"}],
        "contract_id": str(contract_id),
        "routed_domain": None,
    }
    stored = NewEvent(
        type="TicketOpened", data=data, schema_version=1, metadata=EventMetadata(actor="intake")
    )
    await event_store.append(f"ticket-{ticket_id}", ExpectedVersion.NO_STREAM, [stored])
    bob = auth("bob", "agent", groups=["desk"], level=1)
    shown = (await client.get(f"/v1/tickets/{ticket_id}", headers=bob)).json()
    assert shown["admissibility"] == {
        "decision": "out_of_scope",
        "contract_id": str(contract_id),
        "contract_version": None,
        "rules": [
            {"rule": "not_covered", "outcome": "failed", "detail": "Hors périmètre du contrat"}
        ],
    }
    assert shown["admissibility_outcome"] == "out_of_scope"
