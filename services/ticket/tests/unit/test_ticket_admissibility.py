"""The ticket keeps its latest admissibility decision as evidence, and the view shows it."""

import uuid
from datetime import timedelta

from pydantic import TypeAdapter

from helpdesk_shared.events.admissibility import (
    AdmissibilityEvidence,
    Decision,
    RuleEvaluation,
    RuleOutcome,
)
from helpdesk_shared.events.ticket import TicketOpened
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.entrypoints.views import ticket_view
from helpdesk_ticket.testing import MONDAY_9, opened, start

CONTRACT = uuid.uuid4()


def evidence(decision: Decision, version: int = 2) -> AdmissibilityEvidence:
    outcome = RuleOutcome.PASSED if decision is Decision.IN_SCOPE else RuleOutcome.FAILED
    return AdmissibilityEvidence(
        decision=decision,
        contract_id=CONTRACT,
        contract_version=version,
        rules=(
            RuleEvaluation(
                rule="item_covered", outcome=outcome, detail="Excel", contract_id=CONTRACT
            ),
        ),
    )


def opened_with(decided: AdmissibilityEvidence) -> TicketOpened:
    """An opening written as intake writes it: the evidence, the summary derived from it."""
    body = opened().model_dump(exclude={"pre_qualification", "admissibility"})
    return TicketOpened.model_validate({**body, "admissibility": decided})


def test_the_opening_evidence_is_kept_and_shown_with_its_contract_version() -> None:
    state = start(opened_with(evidence(Decision.OUT_OF_SCOPE)))
    assert state.evidence.decision is Decision.OUT_OF_SCOPE
    view = ticket_view(state, 1, [], DEFAULT_POLICY, MONDAY_9 + timedelta(minutes=5))
    assert view.admissibility.model_dump(mode="json") == {
        "decision": "out_of_scope",
        "contract_id": str(CONTRACT),
        "contract_version": 2,
        "rules": [{"rule": "item_covered", "outcome": "failed", "detail": "Excel"}],
    }
    assert view.admissibility_outcome == "out_of_scope"


def test_the_state_with_its_evidence_survives_a_snapshot_round_trip() -> None:
    state = start(opened_with(evidence(Decision.IN_SCOPE)))
    adapter = TypeAdapter(Ticket)
    assert adapter.validate_json(adapter.dump_json(state)) == state
