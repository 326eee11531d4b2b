"""Escalation stops at the level the contract covers the request to (its admissibility)."""

import uuid

import pytest

from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.contract import CoverageItem, CoverageKind
from helpdesk_ticket.domain.errors import BeyondCoverage
from helpdesk_ticket.domain.ticket.commands import Escalate
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.testing import MONDAY_9, opened, run, start

EXCEL_N1 = CoverageItem(
    kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=1, label="Excel 1er niveau"
)


def covered_to(level: int | None) -> AdmissibilityEvidence:
    return AdmissibilityEvidence(
        decision=Decision.IN_SCOPE,
        contract_id=uuid.uuid4(),
        contract_version=1,
        up_to_level=level,
        covered_item=EXCEL_N1.model_copy(update={"up_to_level": level}) if level else None,
    )


def opened_under(level: int | None) -> Ticket:
    event = opened().model_copy(update={"admissibility": covered_to(level)})
    return start(event)


def test_escalating_past_the_coverage_is_refused_naming_the_limit() -> None:
    state = opened_under(1)
    with pytest.raises(BeyondCoverage) as refused:
        run(state, Escalate(by="bob", at=MONDAY_9, reason="N2"))
    assert refused.value.up_to_level == 1
    assert "Excel 1er niveau" in str(refused.value)
    assert "level 1" in str(refused.value)


def test_escalating_within_the_coverage_is_allowed() -> None:
    state, _ = run(opened_under(2), Escalate(by="bob", at=MONDAY_9, reason="N2"))
    assert state.level == 2
    with pytest.raises(BeyondCoverage):
        run(state, Escalate(by="bob", at=MONDAY_9, reason="N3"))


def test_management_can_always_be_asked_to_negotiate() -> None:
    state, _ = run(
        opened_under(1),
        Escalate(by="bob", at=MONDAY_9, reason="extension", to_management=True),
    )
    assert state.escalations == 1


def test_no_recorded_limit_no_refusal() -> None:
    state, _ = run(
        start(),
        Escalate(by="bob", at=MONDAY_9, reason="N2"),
        Escalate(by="b", at=MONDAY_9, reason="N3"),
    )
    assert state.level == 3
