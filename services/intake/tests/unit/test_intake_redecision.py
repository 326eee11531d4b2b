"""Judging a request again, without I/O: what the ticket's stream says, which tickets an
extension concerns, and the amendment an accepted extension makes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import AnswerExtension, ProposeExtension, Sign, decide, evolve
from helpdesk_intake.domain.contract.state import ContractState
from helpdesk_intake.domain.contracts import ContractTerms, CoverageItem, CoverageKind
from helpdesk_intake.domain.extension_impact import PastRequest, extension_impact
from helpdesk_intake.domain.redecision import (
    concerned_by_extension,
    read_request,
    request_facts,
)
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.contract import ContractAmended, ContractExtensionAccepted
from helpdesk_shared.events.ticket import (
    AdmissibilityRedecided,
    Channel,
    Closed,
    ClosureCode,
    RedecisionReason,
    RequesterSnapshot,
    RequestForm,
    TicketOpened,
    TicketReopened,
    TicketType,
)

NOW = datetime.now(UTC)
TODAY = date.today()
ID = uuid.uuid4()
WORD = CoverageItem(kind=CoverageKind.SOFTWARE, name="Word", up_to_level=2)
OFFICE = CoverageItem(kind=CoverageKind.DOMAIN, name="office_software")
TERMS = ContractTerms.model_validate(
    {
        "name": "Contrat Lycée",
        "client": {"kind": "organisation", "name": "Lycée Condorcet"},
        "signed_on": TODAY - timedelta(days=30),
        "valid_from": TODAY - timedelta(days=30),
        "coverage": [{"kind": "domain", "name": "printers"}],
    }
)


def opening(decision: Decision, software: str | None = "Word") -> TicketOpened:
    return TicketOpened(
        ticket_id=uuid.uuid4(),
        occurred_at=NOW,
        reference="INC-2026-000001",
        type=TicketType.INCIDENT,
        channel=Channel.PHONE,
        requester=RequesterSnapshot(
            login="m.roux", name="Marc Roux", organisation="Lycée Condorcet"
        ),
        subject="Word se ferme",
        description="Word se ferme.",
        category="office_software",
        form=RequestForm(software=software, private=False),
        admissibility=AdmissibilityEvidence(decision=decision),
        received_at=NOW,
    )


def contract(*commands: object) -> ContractState:
    state: ContractState | None = None
    for command in (Sign(ID, TERMS, NOW, "chef"), *commands):
        for event in decide(command, state):  # type: ignore[arg-type]
            state = evolve(state, event)
    assert state is not None
    return state


def test_the_stream_gives_the_facts_the_latest_decision_whether_open_and_the_version() -> None:
    opened = opening(Decision.TO_VERIFY)
    later = AdmissibilityRedecided(
        ticket_id=opened.ticket_id,
        occurred_at=NOW,
        admissibility=AdmissibilityEvidence(decision=Decision.OUT_OF_SCOPE),
        reason=RedecisionReason.VERIFIED,
        by="bob",
    )
    closed = Closed(
        ticket_id=opened.ticket_id, occurred_at=NOW, code=ClosureCode.OUT_OF_SCOPE, by="bob"
    )
    request = read_request([opened, later, closed])
    assert request is not None
    assert (request.evidence.decision, request.is_open, request.version) == (
        Decision.OUT_OF_SCOPE, False, 3,
    )  # fmt: skip
    reopened = TicketReopened(ticket_id=opened.ticket_id, occurred_at=NOW, reason="non", by="bob")
    assert read_request([opened, later, closed, reopened]).is_open  # type: ignore[union-attr]
    facts = request_facts(opened)
    assert (facts.domain, facts.software) == ("office_software", "Word")
    assert read_request([later]) is None


def test_an_extension_concerns_open_out_of_scope_tickets_about_its_item() -> None:
    out = read_request([opening(Decision.OUT_OF_SCOPE)])
    assert out is not None
    assert concerned_by_extension(out, WORD, None)
    assert concerned_by_extension(out, OFFICE, None)
    assert not concerned_by_extension(out, WORD.model_copy(update={"name": "Excel"}), None)
    assert concerned_by_extension(out, WORD.model_copy(update={"name": "Excel"}), out.ticket_id)
    in_scope = read_request([opening(Decision.IN_SCOPE)])
    assert in_scope is not None
    assert not concerned_by_extension(in_scope, WORD, None)


def test_an_accepted_extension_amends_the_contract_in_the_same_decision() -> None:
    proposal = uuid.uuid4()
    state = contract(ProposeExtension(ID, proposal, OFFICE, None, NOW, "agent"))
    events = decide(AnswerExtension(ID, proposal, True, NOW, "chef"), state)
    accepted, amended = events
    assert isinstance(accepted, ContractExtensionAccepted)
    assert isinstance(amended, ContractAmended)
    assert (amended.version, amended.coverage_set) == (2, (OFFICE,))
    assert amended.effective_from == NOW.date()
    after = contract(
        ProposeExtension(ID, proposal, OFFICE, None, NOW, "agent"),
        AnswerExtension(ID, proposal, True, NOW, "chef"),
    )
    assert after.current.number == 2
    assert after.proposal(proposal).status == "accepted"  # type: ignore[union-attr]


def test_the_request_judged_again_after_the_extension_is_in_scope() -> None:
    proposal = uuid.uuid4()
    before = contract(ProposeExtension(ID, proposal, OFFICE, None, NOW, "agent"))
    after = contract(
        ProposeExtension(ID, proposal, OFFICE, None, NOW, "agent"),
        AnswerExtension(ID, proposal, True, NOW, "chef"),
    )
    requester = Requester(login="m.roux", name="Marc Roux", organisation="Lycée Condorcet")
    facts = request_facts(opening(Decision.OUT_OF_SCOPE))
    assert judge(facts, requester, [before], TODAY).evidence.decision is Decision.OUT_OF_SCOPE
    again = judge(facts, requester, [after], TODAY).evidence
    assert (again.decision, again.contract_version) == (Decision.IN_SCOPE, 2)


def test_a_declined_extension_changes_no_version() -> None:
    proposal = uuid.uuid4()
    state = contract(
        ProposeExtension(ID, proposal, OFFICE, None, NOW, "agent"),
        AnswerExtension(ID, proposal, False, NOW, "chef", "trop cher"),
    )
    assert state.current.number == 1


def past(opened: TicketOpened, requester: Requester, state: ContractState) -> PastRequest:
    return PastRequest(opened, opened.admissibility, requester, [state], TODAY - timedelta(days=3))


def test_the_impact_counts_the_requests_the_extension_would_have_brought_in_scope() -> None:
    state = contract()
    member = Requester(login="m.roux", name="Marc Roux", organisation="Lycée Condorcet")
    unknown = member.model_copy(update={"needs_verification": True})
    word = opening(Decision.OUT_OF_SCOPE)
    printer = opening(Decision.IN_SCOPE).model_copy(update={"category": "printers"})
    network = opening(Decision.OUT_OF_SCOPE).model_copy(update={"category": "network"})
    requests = [
        past(word, member, state),
        past(word, member, state),
        past(printer, member, state),  # already in scope: not a change
        past(network, member, state),  # another domain: still out
        past(word, unknown, state),  # to verify, not in scope
    ]
    office = OFFICE.model_copy(update={"up_to_level": 2, "label": "Bureautique"})
    impact = extension_impact(state, office, requests)
    assert (impact.requests, impact.would_be_in_scope) == (5, 2)
    assert impact.by_item == {"Bureautique": 2}
    assert impact.by_level == {"2": 2}
    assert state.current.number == 1  # nothing written: the contract is as it was
    assert extension_impact(state, WORD, requests).would_be_in_scope == 0  # domain still out
