"""Pre-qualification: one row per rule, plus the worked examples of seed 001 section 4."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from helpdesk_intake.domain.contracts import (
    Contract,
    CoverageItem,
    CoverageKind,
    Exclusion,
    RoutedDomain,
)
from helpdesk_intake.domain.demo_contracts import CONTRACT_1, CONTRACT_2, DEMO_CONTRACTS
from helpdesk_intake.domain.prequalification import (
    AssistanceRequest,
    Rule,
    prequalify,
    target_group,
)
from helpdesk_intake.domain.requesters import Equipment, Requester
from helpdesk_shared.events.ticket import Admissibility

TODAY = date(2026, 3, 2)
PC = Equipment(asset_tag="PC-001", kind="pc", operating_system="Windows XP")


def alpha(**extra: Any) -> Requester:
    fields: dict[str, Any] = {"login": "jdupont", "name": "Jeanne Dupont"}
    fields |= {"organisation": "Entreprise Alpha", "equipment": (PC,)}
    return Requester.model_validate(fields | extra)


@dataclass(frozen=True)
class Case:
    name: str
    request: AssistanceRequest
    outcome: Admissibility
    rules: tuple[Rule, ...]
    requester: Requester = field(default_factory=alpha)
    contracts: tuple[Contract, ...] = DEMO_CONTRACTS
    on: date = TODAY


def req(**kw: Any) -> AssistanceRequest:
    return AssistanceRequest.model_validate(kw)


A, R, OUT = Admissibility.ADMISSIBLE, Admissibility.TO_ROUTE, Admissibility.OUT_OF_SCOPE

CASES = [
    Case("printer at level 1", req(domain="printers"), A, (Rule.IN_SCOPE,)),
    Case("domain left to qualify", req(), A, (Rule.DOMAIN_TO_QUALIFY,)),
    Case(
        "approved office software",
        req(domain="office_software", software="Word"),
        A,
        (Rule.IN_SCOPE,),
    ),
    Case(
        "no organisation",
        req(domain="printers"),
        OUT,
        (Rule.NO_CONTRACT,),
        requester=alpha(organisation=None),
    ),
    Case(
        "organisation without contract",
        req(domain="printers"),
        OUT,
        (Rule.NO_CONTRACT,),
        requester=alpha(organisation="Inconnue SA"),
    ),
    Case(
        "contract not yet valid",
        req(domain="printers"),
        OUT,
        (Rule.CONTRACT_NOT_VALID,),
        on=date(2025, 12, 31),
    ),
    Case(
        "contract expired",
        req(domain="printers"),
        OUT,
        (Rule.CONTRACT_NOT_VALID,),
        on=date(2029, 1, 1),
    ),
    Case("domain not in scope", req(domain="telephony"), OUT, (Rule.DOMAIN_NOT_IN_SCOPE,)),
    Case("servers routed", req(domain="servers"), R, (Rule.DOMAIN_ROUTED,)),
    Case(
        "non-standard software routed",
        req(domain="non_standard_office_software", software="Photoshop"),
        R,
        (Rule.DOMAIN_ROUTED,),
    ),
    Case(
        "office software routed by contract 2",
        req(domain="office_software", software="Word"),
        R,
        (Rule.DOMAIN_ROUTED,),
        requester=alpha(organisation="Entreprise Bêta"),
    ),
    Case(
        "hardware bought outside IT",
        req(domain="workstation", asset_tag="PC-009"),
        OUT,
        (Rule.HARDWARE_OUTSIDE_IT,),
        requester=alpha(equipment=(Equipment(asset_tag="PC-009", bought_through_it=False),)),
    ),
    Case("private request", req(domain="workstation", private=True), OUT, (Rule.PRIVATE_REQUEST,)),
    Case(
        "private equipment",
        req(domain="printers", asset_tag="HOME-1"),
        OUT,
        (Rule.PRIVATE_REQUEST,),
        requester=alpha(equipment=(Equipment(asset_tag="HOME-1", kind="printer", private=True),)),
    ),
    Case(
        "visiting staff",
        req(domain="workstation"),
        OUT,
        (Rule.VISITING_STAFF,),
        requester=alpha(visiting=True),
    ),
    Case(
        "personal training",
        req(domain="office_software", software="Excel", personal_training=True),
        OUT,
        (Rule.PERSONAL_TRAINING,),
    ),
    Case(
        "obsolete OS from the form",
        req(domain="workstation", operating_system="windows 98"),
        OUT,
        (Rule.OBSOLETE_OS,),
    ),
    Case(
        "obsolete OS from the directory",
        req(domain="workstation", asset_tag="PC-095"),
        OUT,
        (Rule.OBSOLETE_OS,),
        requester=alpha(equipment=(Equipment(asset_tag="PC-095", operating_system="Windows 95"),)),
    ),
    Case(
        "obsolete software",
        req(domain="office_software", software="Office 97"),
        OUT,
        (Rule.OBSOLETE_SOFTWARE, Rule.UNAPPROVED_SOFTWARE),
    ),
    Case(
        "software outside the approved set",
        req(domain="workstation", software="Jeu vidéo"),
        OUT,
        (Rule.UNAPPROVED_SOFTWARE,),
    ),
    Case(
        "asset bought after signature",
        req(domain="printers", asset_tag="LASER-1"),
        OUT,
        (Rule.ASSET_ACQUIRED_AFTER_CONTRACT,),
        requester=alpha(
            equipment=(
                Equipment(asset_tag="LASER-1", kind="printer", acquired_on=date(2026, 2, 1)),
            )
        ),
    ),
    Case(
        "asset bought before signature",
        req(domain="printers", asset_tag="LASER-0"),
        A,
        (Rule.IN_SCOPE,),
        requester=alpha(
            equipment=(
                Equipment(asset_tag="LASER-0", kind="printer", acquired_on=date(2025, 6, 1)),
            )
        ),
    ),
    Case(
        "workstation under a system the contract does not cover",
        req(domain="workstation", operating_system="Ubuntu 24.04"),
        OUT,
        (Rule.OS_NOT_COVERED,),
    ),
    Case(
        "workstation under a covered system",
        req(domain="workstation", operating_system="windows xp"),
        A,
        (Rule.IN_SCOPE,),
    ),
    Case(
        "out of scope domain and exclusion together",
        req(domain="telephony", private=True),
        OUT,
        (Rule.DOMAIN_NOT_IN_SCOPE, Rule.PRIVATE_REQUEST),
    ),
    Case(
        "exclusion wins over routing",
        req(domain="servers", private=True),
        OUT,
        (Rule.PRIVATE_REQUEST,),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_prequalify_rule(case: Case) -> None:
    result = prequalify(case.request, case.requester, case.contracts, case.on)
    assert result.outcome is case.outcome
    assert tuple(r.rule for r in result.reasons) == tuple(r.value for r in case.rules)
    assert all(r.message for r in result.reasons)


def test_exclusion_only_applies_when_the_contract_lists_it() -> None:
    lenient = CONTRACT_1.model_copy(update={"exclusions": ()})
    result = prequalify(req(domain="workstation", private=True), alpha(), [lenient], TODAY)
    assert result.outcome is A


def test_routed_request_names_its_domain_and_group() -> None:
    result = prequalify(req(domain="servers"), alpha(), DEMO_CONTRACTS, TODAY)
    assert result.routed_domain == "servers"
    assert result.contract_id == CONTRACT_1.id
    assert target_group(result, DEMO_CONTRACTS) == "servers"


def test_admissible_and_out_of_scope_requests_start_at_the_desk() -> None:
    ok = prequalify(req(domain="printers"), alpha(), DEMO_CONTRACTS, TODAY)
    out = prequalify(req(domain="telephony"), alpha(), DEMO_CONTRACTS, TODAY)
    assert target_group(ok, DEMO_CONTRACTS) == "desk"
    assert target_group(out, DEMO_CONTRACTS) == "desk"


def test_messages_are_in_french() -> None:
    out = prequalify(req(domain="printers"), alpha(organisation="X"), [CONTRACT_2], TODAY)
    assert out.reasons[0].message == "Aucun contrat de support pour « X »."


# Seed 001 section 4: a software-support contract covering maintenance and installation.
SOFTWARE_SUPPORT = Contract(
    name="Assistance logiciel",
    client="Société Cliente",
    signed_on=date(2026, 1, 10),
    valid_from=date(2026, 1, 10),
    coverage=(
        CoverageItem(kind=CoverageKind.DOMAIN, name="software_maintenance"),
        CoverageItem(kind=CoverageKind.DOMAIN, name="software_installation"),
    ),
    routed_domains=(RoutedDomain(domain="on_site_installation", group="field"),),
)
# ... and a hardware-maintenance contract for the equipment existing when it was signed.
HARDWARE_MAINTENANCE = Contract(
    name="Maintenance du matériel existant",
    client="Société Cliente",
    signed_on=date(2026, 1, 10),
    valid_from=date(2026, 1, 10),
    coverage=(CoverageItem(kind=CoverageKind.DOMAIN, name="hardware_maintenance"),),
    exclusions=tuple(Exclusion),
)
CLIENT = Requester(
    login="dg",
    name="Direction",
    organisation="Société Cliente",
    equipment=(
        Equipment(asset_tag="PC-1", acquired_on=date(2025, 9, 1)),
        Equipment(asset_tag="LASER-NEW", kind="printer", acquired_on=date(2026, 4, 15)),
    ),
)


def test_seed_001_4_1_installing_new_software_a_month_later_is_covered() -> None:
    request = req(domain="software_installation", software="Nouveau logiciel de paie")
    result = prequalify(request, CLIENT, [SOFTWARE_SUPPORT], date(2026, 2, 10))
    assert result.outcome is A
    assert [r.rule for r in result.reasons] == [Rule.IN_SCOPE.value]


def test_seed_001_4_2_new_laser_printer_is_not_covered() -> None:
    request = req(domain="hardware_maintenance", asset_tag="LASER-NEW")
    result = prequalify(request, CLIENT, [HARDWARE_MAINTENANCE], date(2026, 9, 1))
    assert result.outcome is OUT
    assert [r.rule for r in result.reasons] == [Rule.ASSET_ACQUIRED_AFTER_CONTRACT.value]
    assert "postérieur au contrat" in result.reasons[0].message
    assert target_group(result, [HARDWARE_MAINTENANCE]) == "desk"  # to the manager, recorded


def test_seed_001_4_2_amended_contract_covers_the_printer() -> None:
    amended = HARDWARE_MAINTENANCE.model_copy(update={"covers_assets_acquired_later": True})
    request = req(domain="hardware_maintenance", asset_tag="LASER-NEW")
    assert prequalify(request, CLIENT, [amended], date(2026, 9, 1)).outcome is A


def test_seed_001_4_2_existing_pc_is_covered() -> None:
    request = req(domain="hardware_maintenance", asset_tag="PC-1")
    assert prequalify(request, CLIENT, [HARDWARE_MAINTENANCE], date(2026, 9, 1)).outcome is A
