"""Admissibility as evidence, without I/O: every contract in force, every rule in order."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import Amend, ContractState, Sign, decide, evolve
from helpdesk_intake.domain.contracts import (
    ContractTerms,
    CoverageItem,
    CoverageKind,
    CoveredAsset,
)
from helpdesk_intake.domain.demo_contracts import CONTRACT_1, CONTRACT_2, CONTRACT_3
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.requesters import CharterCompliance, Equipment, Requester
from helpdesk_shared.events.admissibility import Decision, RuleOutcome
from helpdesk_shared.events.ticket import Admissibility

TODAY = date.today()
SIGNED = TODAY - timedelta(days=90)
NOW = datetime.now(UTC)
#: A workstation found compliant with the charter a month ago (the prerequisite of workstation
#: problems).
PC = Equipment(
    asset_tag="PC-001",
    kind="pc",
    operating_system="Windows 11",
    charter=CharterCompliance(compliant=True, checked_on=TODAY - timedelta(days=30)),
)


def terms(base: Any, **changes: Any) -> ContractTerms:
    """A demo contract's terms, running from 90 days ago for a year."""
    dates = {"signed_on": SIGNED, "valid_from": SIGNED, "valid_until": TODAY + timedelta(300)}
    return ContractTerms.model_validate(base.terms().model_dump() | dates | changes)


def signed(t: ContractTerms, contract_id: uuid.UUID | None = None) -> ContractState:
    cid = contract_id or uuid.uuid4()
    [event] = decide(Sign(cid, t, NOW, "manager"), None)
    return evolve(None, event)


def amended(state: ContractState, command: Amend) -> ContractState:
    for event in decide(command, state):
        state = evolve(state, event)
    return state


def member(organisation: str | None = "Entreprise Alpha", **extra: Any) -> Requester:
    fields: dict[str, Any] = {"login": "jdupont", "name": "Jeanne Dupont", "equipment": (PC,)}
    return Requester.model_validate(fields | {"organisation": organisation} | extra)


def req(**kw: Any) -> AssistanceRequest:
    return AssistanceRequest.model_validate(kw)


ALPHA = signed(terms(CONTRACT_1))
BETA = signed(terms(CONTRACT_2))
GAMMA = signed(terms(CONTRACT_3))
EVERY = (ALPHA, BETA, GAMMA)
EXCEL = req(domain="office_software", software="Excel")


def test_contracts_1_and_3_differ_on_excel_depth() -> None:
    under_1 = judge(EXCEL, member(), EVERY, TODAY).evidence
    under_3 = judge(EXCEL, member("Entreprise Gamma"), EVERY, TODAY).evidence
    assert (under_1.decision, under_3.decision) == (Decision.IN_SCOPE, Decision.IN_SCOPE)
    assert (under_1.contract_id, under_3.contract_id) == (ALPHA.contract_id, GAMMA.contract_id)
    assert (under_1.up_to_level, under_3.up_to_level) == (3, 1)
    assert under_3.covered_item is not None
    assert under_3.covered_item.label == "Excel 1er niveau"


def test_word_is_covered_at_every_level_under_contract_3() -> None:
    word = req(domain="office_software", software="Word")
    evidence = judge(word, member("Entreprise Gamma"), EVERY, TODAY).evidence
    assert evidence.up_to_level == 3
    assert evidence.contract_version == 1


def test_contract_2_routes_office_software_to_another_team() -> None:
    judgement = judge(EXCEL, member("Entreprise Bêta"), EVERY, TODAY)
    assert judgement.evidence.decision is Decision.IN_SCOPE
    assert (judgement.evidence.routed_domain, judgement.group) == ("office_software", "office-apps")
    assert judgement.summary().outcome is Admissibility.TO_ROUTE


def test_an_asset_unknown_to_the_directory_is_to_verify_not_in_scope() -> None:
    judgement = judge(req(domain="printers", asset_tag="LASER-X"), member(), EVERY, TODAY)
    evidence = judgement.evidence
    assert evidence.decision is Decision.TO_VERIFY
    assert [(r.rule, r.outcome) for r in evidence.rules[:2]] == [
        ("requester_verified", RuleOutcome.PASSED),
        ("asset_known", RuleOutcome.TO_VERIFY),
    ]
    assert judgement.summary().outcome is Admissibility.TO_VERIFY
    assert [r.rule for r in judgement.summary().reasons] == ["asset_known"]


def test_a_known_asset_is_matched_to_its_hardware_item() -> None:
    evidence = judge(req(domain="workstation", asset_tag="pc-001"), member(), EVERY, TODAY).evidence
    assert evidence.decision is Decision.IN_SCOPE
    hardware = [r for r in evidence.rules if r.rule == "hardware_covered"]
    assert [r.outcome for r in hardware] == [RuleOutcome.PASSED]


def test_a_self_declared_organisation_is_to_verify_even_when_its_contract_covers() -> None:
    unknown = member(needs_verification=True)
    evidence = judge(req(domain="printers"), unknown, EVERY, TODAY).evidence
    assert evidence.decision is Decision.TO_VERIFY
    assert evidence.rules[0].rule == "requester_verified"
    assert evidence.rules[0].outcome is RuleOutcome.TO_VERIFY
    assert evidence.contract_id == ALPHA.contract_id  # what it would be judged against


def test_every_contract_in_force_is_judged_and_the_one_that_covers_is_kept() -> None:
    """An extension signed as a second contract: the first covers no office software."""
    first = signed(terms(CONTRACT_2))
    second_terms = terms(CONTRACT_1, name="Avenant bureautique", client={"name": "Entreprise Bêta"})
    second = signed(second_terms)
    evidence = judge(EXCEL, member("Entreprise Bêta"), (first, second), TODAY).evidence
    assert evidence.contract_id == second.contract_id
    assert evidence.routed_domain is None  # handled by the desk under the second one
    in_force = [r.contract_id for r in evidence.rules if r.rule == "contract_in_force"]
    assert in_force == [first.contract_id, second.contract_id]


def test_a_person_can_hold_a_contract_by_login() -> None:
    person = terms(
        CONTRACT_1, name="Contrat particulier", client={"kind": "person", "name": "Paul",
                                                       "login": "pdurand"},
    )  # fmt: skip
    own = signed(person)
    paul = member(None, login="pdurand", name="Paul Durand", organisation_kind="person")
    assert judge(req(domain="printers"), paul, (own, *EVERY), TODAY).evidence.decision is (
        Decision.IN_SCOPE
    )
    namesake = member(None, login="pdurand2", name="Paul", organisation_kind="person")
    refused = judge(req(domain="printers"), namesake, (own,), TODAY).evidence
    assert refused.decision is Decision.OUT_OF_SCOPE
    assert [r.rule for r in refused.rules if r.outcome is RuleOutcome.FAILED] == ["no_contract"]


def test_no_contract_is_out_of_scope_with_the_rule_that_failed() -> None:
    judgement = judge(req(domain="printers"), member("Inconnue SA"), EVERY, TODAY)
    assert judgement.evidence.decision is Decision.OUT_OF_SCOPE
    assert judgement.evidence.contract_id is None
    assert [r.rule for r in judgement.summary().reasons] == ["no_contract"]


def test_a_contract_not_in_force_that_day_is_out_of_scope() -> None:
    evidence = judge(req(domain="printers"), member(), EVERY, TODAY + timedelta(400)).evidence
    assert evidence.decision is Decision.OUT_OF_SCOPE
    assert evidence.contract_id == ALPHA.contract_id
    assert evidence.contract_version is None
    assert [r.outcome for r in evidence.rules if r.rule == "contract_not_valid"] == [
        RuleOutcome.FAILED
    ]


def test_the_version_applied_is_the_one_in_force_on_the_request_day() -> None:
    """A printer bought after signature: out under version 1, covered once amended in."""
    laser = Equipment(asset_tag="LASER-1", kind="printer", acquired_on=SIGNED + timedelta(30))
    asker = member(equipment=(PC, laser))
    added = CoveredAsset(asset_tag="LASER-1", kind="printer", acquired_on=laser.acquired_on)
    amendment = Amend(
        ALPHA.contract_id, TODAY, "ajout de l'imprimante laser", NOW, "manager",
        assets_added=(added,),
    )  # fmt: skip
    state = amended(ALPHA, amendment)
    request = req(domain="printers", asset_tag="LASER-1")
    before = judge(request, asker, (state,), TODAY - timedelta(1)).evidence
    after = judge(request, asker, (state,), TODAY).evidence
    assert (before.decision, before.contract_version) == (Decision.OUT_OF_SCOPE, 1)
    failed = [r.rule for r in before.rules if r.outcome is RuleOutcome.FAILED]
    assert failed == ["asset_acquired_after_contract"]
    assert (after.decision, after.contract_version) == (Decision.IN_SCOPE, 2)


def test_an_amendment_deepening_coverage_changes_the_limit_from_its_day() -> None:
    excel_2 = CoverageItem(kind=CoverageKind.SOFTWARE, name="Excel", up_to_level=2)
    amendment = Amend(GAMMA.contract_id, TODAY, "Excel N2", NOW, "m", coverage_set=(excel_2,))
    state = amended(GAMMA, amendment)
    gamma = member("Entreprise Gamma")
    assert judge(EXCEL, gamma, (state,), TODAY - timedelta(1)).evidence.up_to_level == 1
    assert judge(EXCEL, gamma, (state,), TODAY).evidence.up_to_level == 2


def test_rules_are_recorded_in_the_order_evaluated() -> None:
    evidence = judge(req(domain="servers", private=True), member(), EVERY, TODAY).evidence
    names = [r.rule for r in evidence.rules]
    assert names[:3] == ["requester_verified", "contract_held", "contract_in_force"]
    assert judge(req(domain="printers"), member(), EVERY, TODAY).summary().reasons[0].rule == (
        "in_scope"
    )
    assert names.index("excluded_private_request") < names.index("domain_routed")
    assert evidence.decision is Decision.OUT_OF_SCOPE
    assert all(r.detail for r in evidence.rules)
