"""Over HTTP: escalating above the level the contract covers the request to answers 409."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.contract import CoverageItem, CoverageKind
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.testing import opened

EXCEL_N1 = CoverageItem(
    kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=1, label="Excel 1er niveau"
)


async def test_escalation_beyond_the_coverage_is_refused_naming_the_limit(
    client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    evidence = AdmissibilityEvidence(
        decision=Decision.IN_SCOPE,
        contract_id=uuid.uuid4(),
        contract_version=2,
        up_to_level=1,
        covered_item=EXCEL_N1,
    )
    event = opened(at=datetime.now(UTC)).model_copy(update={"admissibility": evidence})
    await event_store.append(
        f"ticket-{event.ticket_id}",
        ExpectedVersion.NO_STREAM,
        [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
    )
    bob = auth("bob", "agent", groups=["desk"], level=1)
    base = f"/v1/tickets/{event.ticket_id}"
    shown = (await client.get(base, headers=bob)).json()
    assert (shown["coverage_limit"], shown["coverage_item"]) == (1, "Excel 1er niveau")
    await client.post(f"{base}/take", headers=bob)
    refused = await client.post(f"{base}/escalate", headers=bob, json={"reason": "needs N2"})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert (problem["coverage_limit"], problem["coverage_item"]) == (1, "Excel 1er niveau")
    assert "level 1" in problem["detail"]
    assert "escalate" in problem["allowed"]  # to management, which stays open
    to_management = await client.post(
        f"{base}/escalate", headers=bob, json={"reason": "extension", "to_management": True}
    )
    assert to_management.status_code == 200, to_management.text
