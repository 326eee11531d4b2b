"""The workstation charter, a prerequisite of workstation problems: a workstation not known to
comply with the charter in force makes the request `to_verify` (rule `workstation_charter`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import ContractState, Sign, decide, evolve
from helpdesk_intake.domain.contracts import ContractTerms
from helpdesk_intake.domain.demo_contracts import CONTRACT_1
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.requesters import CharterCompliance, Equipment, Requester
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision, RuleOutcome

TODAY = date.today()
CHECKED = TODAY - timedelta(days=30)
COMPLIANT = CharterCompliance(compliant=True, checked_on=CHECKED)
NOT_COMPLIANT = CharterCompliance(compliant=False, checked_on=CHECKED)


def _contract() -> ContractState:
    signed_on = TODAY - timedelta(days=90)
    dates = {"signed_on": signed_on, "valid_from": signed_on, "valid_until": TODAY + timedelta(300)}
    terms = ContractTerms.model_validate(CONTRACT_1.terms().model_dump() | dates)
    [event] = decide(Sign(uuid.uuid4(), terms, datetime.now(UTC), "manager"), None)
    return evolve(None, event)


ALPHA = _contract()


def pc(tag: str = "PC-001", charter: CharterCompliance | None = COMPLIANT, **kw: Any) -> Equipment:
    return Equipment(asset_tag=tag, operating_system="Windows 11", charter=charter, **kw)


def judged(*equipment: Equipment, **request: Any) -> AdmissibilityEvidence:
    requester = Requester(
        login="jdupont", name="Jeanne Dupont", organisation="Entreprise Alpha", equipment=equipment
    )
    facts = AssistanceRequest.model_validate({"domain": "workstation"} | request)
    return judge(facts, requester, (ALPHA,), TODAY).evidence


def charter_rules(evidence: AdmissibilityEvidence) -> list[tuple[RuleOutcome, str]]:
    return [(r.outcome, r.detail) for r in evidence.rules if r.rule == "workstation_charter"]


def test_a_compliant_workstation_passes_and_says_when_it_was_checked() -> None:
    evidence = judged(pc())
    assert evidence.decision is Decision.IN_SCOPE
    [(outcome, detail)] = charter_rules(evidence)
    assert outcome is RuleOutcome.PASSED
    assert f"PC-001 (vérifié le {CHECKED:%d/%m/%Y})" in detail


@pytest.mark.parametrize(
    ("equipment", "why"),
    [
        ((pc(charter=NOT_COMPLIANT),), "non conforme"),
        ((pc(charter=None),), "jamais vérifiée"),
        ((), "inconnu de l'annuaire"),
        ((pc(), pc("PC-002", charter=NOT_COMPLIANT)), "PC-002 non conforme"),
        ((Equipment(asset_tag="LASER-1", kind="printer"),), "inconnu de l'annuaire"),
    ],
    ids=["not compliant", "never checked", "no workstation", "one of two", "only a printer"],
)
def test_a_workstation_not_known_to_comply_is_to_verify(
    equipment: tuple[Equipment, ...], why: str
) -> None:
    evidence = judged(*equipment)
    assert evidence.decision is Decision.TO_VERIFY
    [(outcome, detail)] = charter_rules(evidence)
    assert outcome is RuleOutcome.TO_VERIFY
    assert why in detail
    assert evidence.contract_id == ALPHA.contract_id  # the contract still covers it


def test_the_workstation_the_request_names_is_the_one_checked() -> None:
    both = (pc("PC-OLD", charter=NOT_COMPLIANT), pc("PC-NEW"))
    assert judged(*both, asset_tag="PC-NEW").decision is Decision.IN_SCOPE
    assert judged(*both, asset_tag="pc-old").decision is Decision.TO_VERIFY
    unknown = judged(*both, asset_tag="PC-404")
    assert unknown.decision is Decision.TO_VERIFY
    assert [o for o, _ in charter_rules(unknown)] == [RuleOutcome.TO_VERIFY]


def test_the_summary_names_the_charter_rule() -> None:
    requester = Requester(login="jdupont", name="Jeanne Dupont", organisation="Entreprise Alpha")
    judgement = judge(AssistanceRequest(domain="workstation"), requester, (ALPHA,), TODAY)
    summary = judgement.summary()
    assert summary.outcome.value == "to_verify"
    assert [r.rule for r in summary.reasons] == ["workstation_charter"]


def test_other_domains_do_not_need_the_charter() -> None:
    evidence = judged(pc(charter=NOT_COMPLIANT), domain="printers")
    assert evidence.decision is Decision.IN_SCOPE
    assert charter_rules(evidence) == []


def test_an_excluded_request_stays_out_of_scope() -> None:
    evidence = judged(pc(charter=None), private=True)
    assert evidence.decision is Decision.OUT_OF_SCOPE
    assert [o for o, _ in charter_rules(evidence)] == [RuleOutcome.TO_VERIFY]
