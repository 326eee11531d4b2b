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
from helpdesk_shared.events.contract import CoverageItem, CoverageKind
from helpdesk_shared.events.ticket import (
    Admissibility,
    AdmissibilityRedecided,
    RedecisionReason,
    TicketOpened,
)
from helpdesk_ticket.domain.ticket.evolve import evolve
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.domain.ticket.transitions import allowed_commands
from helpdesk_ticket.entrypoints.views import ticket_view
from helpdesk_ticket.testing import MONDAY_9, opened, start

CONTRACT = uuid.uuid4()
EXCEL_N2 = CoverageItem(kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=2, label="Excel N2")


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


def test_a_redecision_replaces_the_decision_the_summary_and_the_coverage_limit() -> None:
    state = start(opened_with(evidence(Decision.OUT_OF_SCOPE)))
    extended = evidence(Decision.IN_SCOPE, version=3).model_copy(
        update={"up_to_level": 2, "covered_item": EXCEL_N2}
    )
    redecided = AdmissibilityRedecided(
        ticket_id=state.id,
        occurred_at=MONDAY_9 + timedelta(hours=1),
        admissibility=extended,
        reason=RedecisionReason.CONTRACT_EXTENDED,
        contract_version=3,
        by="intake",
    )
    after = evolve(state, redecided)
    assert after is not None
    assert after.evidence == extended
    assert after.admissibility is Admissibility.ADMISSIBLE
    assert (after.coverage_limit, after.coverage_item) == (2, "Excel N2")
    assert after.version == state.version + 1
    assert "resolve" in allowed_commands(after, DEFAULT_POLICY)
    assert "resolve" not in allowed_commands(state, DEFAULT_POLICY)
