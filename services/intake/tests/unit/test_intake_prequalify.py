"""Pre-qualification through `judge`: one row per rule, plus the worked examples of the
pre-qualification course (docs/desk-rules.md), and the operating systems as configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from helpdesk_intake.domain.admissibility import Judgement, judge
from helpdesk_intake.domain.contract import ContractState, Sign, decide, evolve
from helpdesk_intake.domain.contracts import (
    Contract,
    CoverageItem,
    CoverageKind,
    Exclusion,
    RoutedDomain,
)
from helpdesk_intake.domain.demo_contracts import (
    CONTRACT_1,
    CONTRACT_2,
    DEMO_CONTRACTS,
    DEMO_VALID_UNTIL,
)
from helpdesk_intake.domain.prequalification import AssistanceRequest, Rule
from helpdesk_intake.domain.requesters import CharterCompliance, Equipment, Requester
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared.events.ticket import Admissibility, PreQualification

TODAY = date(2026, 3, 2)
SIGNED_AT = datetime(2026, 1, 5, 9, tzinfo=UTC)
#: A workstation found compliant with the charter (the prerequisite of workstation problems).
PC = Equipment(
    asset_tag="PC-001",
    kind="pc",
    operating_system="Windows 11",
    charter=CharterCompliance(compliant=True, checked_on=date(2026, 2, 2)),
)


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


def signed(contract: Contract) -> ContractState:
    """The contract as its stream holds it once signed (version 1, the contract's id)."""
    [event] = decide(Sign(contract.id, contract.terms(), SIGNED_AT, "manager"), None)
    return evolve(None, event)


def judged(
    request: AssistanceRequest,
    requester: Requester,
    contracts: tuple[Contract, ...] | list[Contract],
    on: date,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> Judgement:
    return judge(request, requester, [signed(c) for c in contracts], on, systems)


def prequalified(
    request: AssistanceRequest,
    requester: Requester,
    contracts: tuple[Contract, ...] | list[Contract],
    on: date,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> PreQualification:
    """The summary the answers and `TicketOpened` carry: outcome and deciding rules."""
    return judged(request, requester, contracts, on, systems).summary()


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
        on=CONTRACT_1.valid_from - timedelta(days=1),
    ),
    Case(
        "contract expired",
        req(domain="printers"),
        OUT,
        (Rule.CONTRACT_NOT_VALID,),
        on=DEMO_VALID_UNTIL + timedelta(days=1),
    ),
    Case(
        "domain not in scope", req(domain="hardware_maintenance"), OUT, (Rule.DOMAIN_NOT_IN_SCOPE,)
    ),
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
        (Rule.OBSOLETE_SOFTWARE,),
    ),
    Case(
        "a breakdown caused by software installed outside the approved base",
        req(
            domain="workstation",
            software="Jeu vidéo",
            suspected_cause="software_outside_approved_base",
        ),
        OUT,
        (Rule.UNAPPROVED_SOFTWARE,),
    ),
    Case(
        "the same cause on a request naming no software",
        req(domain="office_software", suspected_cause="software_outside_approved_base"),
        OUT,
        (Rule.UNAPPROVED_SOFTWARE,),
    ),
    Case(
        "naming software outside the approved base is not the cause",
        req(domain="workstation", software="Jeu vidéo"),
        A,
        (Rule.IN_SCOPE,),
    ),
    Case(
        "a breakdown after a misuse is not the exclusion (the system is reinstalled)",
        req(domain="workstation", software="Jeu vidéo", suspected_cause="misuse"),
        A,
        (Rule.IN_SCOPE,),
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
        req(domain="workstation", operating_system="windows 11"),
        A,
        (Rule.IN_SCOPE,),
    ),
    Case(
        "Windows XP is obsolete by default",
        req(domain="workstation", operating_system="Windows XP"),
        OUT,
        (Rule.OBSOLETE_OS,),
    ),
    Case(
        "Windows 7 is neither obsolete nor supported by default",
        req(domain="workstation", operating_system="Windows 7"),
        OUT,
        (Rule.OS_NOT_COVERED,),
    ),
    Case(
        "out of scope domain and exclusion together",
        req(domain="hardware_maintenance", private=True),
        OUT,
        (Rule.PRIVATE_REQUEST, Rule.DOMAIN_NOT_IN_SCOPE),
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
    result = prequalified(case.request, case.requester, case.contracts, case.on)
    assert result.outcome is case.outcome
    assert tuple(r.rule for r in result.reasons) == tuple(r.value for r in case.rules)
    assert all(r.message for r in result.reasons)


def test_exclusion_only_applies_when_the_contract_lists_it() -> None:
    lenient = CONTRACT_1.model_copy(update={"exclusions": ()})
    result = prequalified(req(domain="workstation", private=True), alpha(), [lenient], TODAY)
    assert result.outcome is A


def test_routed_request_names_its_domain_and_group() -> None:
    judgement = judged(req(domain="servers"), alpha(), DEMO_CONTRACTS, TODAY)
    result = judgement.summary()
    assert result.routed_domain == "servers"
    assert result.contract_id == CONTRACT_1.id
    assert judgement.group == "servers"


def test_admissible_and_out_of_scope_requests_start_at_the_desk() -> None:
    ok = judged(req(domain="printers"), alpha(), DEMO_CONTRACTS, TODAY)
    out = judged(req(domain="hardware_maintenance"), alpha(), DEMO_CONTRACTS, TODAY)
    assert (ok.summary().outcome, out.summary().outcome) == (A, OUT)
    assert ok.group == "desk"
    assert out.group == "desk"


def test_messages_are_in_french() -> None:
    out = prequalified(req(domain="printers"), alpha(organisation="X"), [CONTRACT_2], TODAY)
    assert out.reasons[0].message == "Aucun contrat de support pour « X »."


# The worked examples (docs/desk-rules.md): a software-support contract covering maintenance and
# installation.
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


def test_worked_example_installing_new_software_a_month_later_is_covered() -> None:
    request = req(domain="software_installation", software="Nouveau logiciel de paie")
    result = prequalified(request, CLIENT, [SOFTWARE_SUPPORT], date(2026, 2, 10))
    assert result.outcome is A
    assert [r.rule for r in result.reasons] == [Rule.IN_SCOPE.value]


def test_worked_example_new_laser_printer_is_not_covered() -> None:
    request = req(domain="hardware_maintenance", asset_tag="LASER-NEW")
    judgement = judged(request, CLIENT, [HARDWARE_MAINTENANCE], date(2026, 9, 1))
    result = judgement.summary()
    assert result.outcome is OUT
    assert [r.rule for r in result.reasons] == [Rule.ASSET_ACQUIRED_AFTER_CONTRACT.value]
    assert "postérieur au contrat" in result.reasons[0].message
    assert judgement.group == "desk"  # to the manager, recorded


def test_worked_example_amended_contract_covers_the_printer() -> None:
    amended = HARDWARE_MAINTENANCE.model_copy(update={"covers_assets_acquired_later": True})
    request = req(domain="hardware_maintenance", asset_tag="LASER-NEW")
    assert prequalified(request, CLIENT, [amended], date(2026, 9, 1)).outcome is A


def test_worked_example_existing_pc_is_covered() -> None:
    request = req(domain="hardware_maintenance", asset_tag="PC-1")
    assert prequalified(request, CLIENT, [HARDWARE_MAINTENANCE], date(2026, 9, 1)).outcome is A


def test_the_operating_systems_are_configuration() -> None:
    legacy = OperatingSystems(obsolete=("Windows 95",), supported=("Windows XP", "Windows 11"))
    xp = req(domain="workstation", operating_system="Windows XP")
    assert prequalified(xp, alpha(), DEMO_CONTRACTS, TODAY).outcome is OUT
    assert prequalified(xp, alpha(), DEMO_CONTRACTS, TODAY, legacy).outcome is A
    anything = OperatingSystems(obsolete=(), supported=())
    seven = req(domain="workstation", operating_system="Windows 7")
    assert prequalified(seven, alpha(), DEMO_CONTRACTS, TODAY, anything).outcome is A


def test_intake_settings_carry_the_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpdesk_intake.settings import Settings

    systems = Settings().operating_systems()
    assert "Windows XP" in systems.obsolete
    assert systems.supported == ("Windows 10", "Windows 11")
    monkeypatch.setenv("INTAKE_OBSOLETE_OPERATING_SYSTEMS", '["Windows 7"]')
    assert Settings().operating_systems().obsolete == ("Windows 7",)


def test_a_contract_may_name_its_own_systems() -> None:
    """Its supported ones replace the configured list; its obsolete ones add to it."""
    own = CONTRACT_1.model_copy(
        update={
            "supported_operating_systems": ("Windows 7",),
            "obsolete_operating_systems": ("Windows 8",),
        }
    )

    def on(system: str) -> PreQualification:
        return prequalified(
            req(domain="workstation", operating_system=system), alpha(), [own], TODAY
        )

    assert on("Windows 7").outcome is A
    eleven, eight, xp = on("Windows 11"), on("Windows 8"), on("Windows XP")
    assert [r.rule for r in eleven.reasons] == [Rule.OS_NOT_COVERED.value]
    assert [r.rule for r in eight.reasons] == [Rule.OBSOLETE_OS.value]
    assert [r.rule for r in xp.reasons] == [Rule.OBSOLETE_OS.value]  # configured, still obsolete


def test_a_request_domain_is_a_catalogue_code() -> None:
    with pytest.raises(ValueError, match="office_software"):
        req(domain="coffee")
    assert req(domain="office_standard").domain == "office_software"  # an older alias
