"""Pre-qualification: is a request admissible under the requester's support contract?

Pure and explainable (seed 001 section 3). The outcome is one of admissible (the desk handles it
at level 1), to route (in the contract, but another team's domain), or out of scope (no valid
contract, a domain outside the contract, an exclusion of seed 003, an asset bought after the
contract was signed). Every outcome carries the rules that decided, each with a French message.
An out-of-scope request is still recorded as a ticket: the caller decides, nothing is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_intake.domain.contracts import Contract, Exclusion, named_in
from helpdesk_intake.domain.requesters import Equipment, Requester
from helpdesk_shared.events.ticket import Admissibility, PreQualification, Reason

DESK_GROUP = "desk"


class Rule(StrEnum):
    """The code of each rule, as it appears in `reasons[].rule`."""

    NO_CONTRACT = "no_contract"
    CONTRACT_NOT_VALID = "contract_not_valid"
    DOMAIN_NOT_IN_SCOPE = "domain_not_in_scope"
    DOMAIN_ROUTED = "domain_routed"
    IN_SCOPE = "in_scope"
    DOMAIN_TO_QUALIFY = "domain_to_qualify"
    ASSET_ACQUIRED_AFTER_CONTRACT = "asset_acquired_after_contract"
    OS_NOT_COVERED = "os_not_covered"
    HARDWARE_OUTSIDE_IT = "excluded_hardware_outside_it"
    PRIVATE_REQUEST = "excluded_private_request"
    VISITING_STAFF = "excluded_visiting_staff"
    PERSONAL_TRAINING = "excluded_personal_training"
    OBSOLETE_OS = "excluded_obsolete_os"
    OBSOLETE_SOFTWARE = "excluded_obsolete_software"
    UNAPPROVED_SOFTWARE = "excluded_unapproved_software"


class AssistanceRequest(BaseModel):
    """The facts of a request that the contract is checked against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    domain: str | None = Field(default=None, max_length=80)
    software: str | None = Field(default=None, max_length=120)
    asset_tag: str | None = Field(default=None, max_length=80)
    operating_system: str | None = Field(default=None, max_length=80)
    private: bool = False
    personal_training: bool = False


@dataclass(frozen=True)
class _Facts:
    request: AssistanceRequest
    requester: Requester
    contract: Contract
    asset: Equipment | None

    @property
    def operating_system(self) -> str | None:
        if self.request.operating_system:
            return self.request.operating_system
        return self.asset.operating_system if self.asset else None


def _reason(rule: Rule, message: str) -> Reason:
    return Reason(rule=rule.value, message=message)


def prequalify(
    request: AssistanceRequest,
    requester: Requester,
    contracts: Sequence[Contract],
    on_date: date,
) -> PreQualification:
    """Decide the request's admissibility on `on_date` against the organisation's contracts."""
    own = [c for c in contracts if requester.organisation and _same_client(c, requester)]
    if not own:
        who = requester.organisation or "organisation inconnue"
        return _out(None, _reason(Rule.NO_CONTRACT, f"Aucun contrat de support pour « {who} »."))
    valid = [c for c in own if c.is_valid_on(on_date)]
    if not valid:
        day = on_date.strftime("%d/%m/%Y")
        message = f"Aucun contrat de « {own[0].client.name} » n'est en vigueur le {day}."
        return _out(own[0].id, _reason(Rule.CONTRACT_NOT_VALID, message))
    contract = valid[0]
    asset = _asset(request, requester)
    facts = _Facts(request, requester, contract, asset)
    excluded = [reason for rule in _OUT_OF_SCOPE_RULES if (reason := rule(facts)) is not None]
    scope = _scope(facts)
    if scope.outcome is Admissibility.OUT_OF_SCOPE:
        excluded = [*scope.reasons, *excluded]
    if excluded:
        return _out(contract.id, *excluded)
    return scope


def target_group(pre_qualification: PreQualification, contracts: Sequence[Contract]) -> str:
    """The support group a new ticket starts in: `desk` unless the request is routed."""
    if pre_qualification.outcome is not Admissibility.TO_ROUTE:
        return DESK_GROUP
    contract = next((c for c in contracts if c.id == pre_qualification.contract_id), None)
    routed = contract.routed(pre_qualification.routed_domain or "") if contract else None
    return routed.group if routed else DESK_GROUP


def _same_client(contract: Contract, requester: Requester) -> bool:
    return contract.is_held_by(requester.login, requester.organisation)


def _asset(request: AssistanceRequest, requester: Requester) -> Equipment | None:
    if not request.asset_tag:
        return None
    return requester.asset(request.asset_tag)


def _out(contract_id: uuid.UUID | None, *reasons: Reason) -> PreQualification:
    return PreQualification(
        outcome=Admissibility.OUT_OF_SCOPE, reasons=tuple(reasons), contract_id=contract_id
    )


def _scope(facts: _Facts) -> PreQualification:
    contract, domain = facts.contract, facts.request.domain
    if domain is None:
        message = f"Contrat « {contract.name} » en vigueur ; domaine à qualifier par le guichet."
        reason = _reason(Rule.DOMAIN_TO_QUALIFY, message)
        return PreQualification(
            outcome=Admissibility.ADMISSIBLE, reasons=(reason,), contract_id=contract.id
        )
    if domain in contract.level1_domains:
        message = f"Domaine « {domain} » traité au niveau 1 (contrat « {contract.name} »)."
        return PreQualification(
            outcome=Admissibility.ADMISSIBLE,
            reasons=(_reason(Rule.IN_SCOPE, message),),
            contract_id=contract.id,
        )
    routed = contract.routed(domain)
    if routed is not None:
        message = f"Domaine « {domain} » à router vers le groupe « {routed.group} »."
        return PreQualification(
            outcome=Admissibility.TO_ROUTE,
            reasons=(_reason(Rule.DOMAIN_ROUTED, message),),
            contract_id=contract.id,
            routed_domain=domain,
        )
    message = (
        f"Le domaine « {domain} » n'entre pas dans le périmètre du contrat « {contract.name} »."
    )
    return _out(contract.id, _reason(Rule.DOMAIN_NOT_IN_SCOPE, message))


_ExclusionCheck = Callable[[_Facts], Reason | None]


def _hardware_outside_it(f: _Facts) -> Reason | None:
    if f.asset is None or f.asset.bought_through_it:
        return None
    return _reason(
        Rule.HARDWARE_OUTSIDE_IT,
        f"Le matériel {f.asset.asset_tag} a été acheté en dehors du service informatique.",
    )


def _private(f: _Facts) -> Reason | None:
    if not (f.request.private or (f.asset is not None and f.asset.private)):
        return None
    return _reason(Rule.PRIVATE_REQUEST, "Demande d'assistance à titre privé (matériel personnel).")


def _visiting(f: _Facts) -> Reason | None:
    if not f.requester.visiting:
        return None
    return _reason(Rule.VISITING_STAFF, "Poste de travail d'un personnel de passage dans l'unité.")


def _personal_training(f: _Facts) -> Reason | None:
    if not f.request.personal_training:
        return None
    return _reason(
        Rule.PERSONAL_TRAINING, "Utilisation d'un logiciel relevant d'une formation personnelle."
    )


def _obsolete_os(f: _Facts) -> Reason | None:
    os_name = f.operating_system
    if not os_name or not named_in(os_name, f.contract.obsolete_operating_systems):
        return None
    return _reason(Rule.OBSOLETE_OS, f"Poste sous un système d'exploitation obsolète ({os_name}).")


def _obsolete_software(f: _Facts) -> Reason | None:
    software = f.request.software
    if not software or not named_in(software, f.contract.obsolete_software):
        return None
    return _reason(Rule.OBSOLETE_SOFTWARE, f"Logiciel obsolète ({software}).")


def _unapproved_software(f: _Facts) -> Reason | None:
    software, contract = f.request.software, f.contract
    if (
        not software
        or not contract.approved_software
        or named_in(software, contract.approved_software)
    ):
        return None
    if f.request.domain is not None and contract.routed(f.request.domain) is not None:
        return None  # non-standard software the contract routes to another team
    return _reason(
        Rule.UNAPPROVED_SOFTWARE,
        f"Logiciel installé en dehors du socle approuvé ({software}).",
    )


def _acquired_after_contract(f: _Facts) -> Reason | None:
    asset, contract = f.asset, f.contract
    if asset is None or asset.acquired_on is None or contract.covers_assets_acquired_later:
        return None
    if asset.acquired_on <= contract.signed_on or contract.covered_asset(asset.asset_tag):
        return None
    signed = contract.signed_on.strftime("%d/%m/%Y")
    bought = asset.acquired_on.strftime("%d/%m/%Y")
    return _reason(
        Rule.ASSET_ACQUIRED_AFTER_CONTRACT,
        f"Le matériel {asset.asset_tag} (acquis le {bought}) est postérieur au contrat signé "
        f"le {signed} : il n'est pas couvert.",
    )


def _os_not_covered(f: _Facts) -> Reason | None:
    """Seed 000: "PC sous Windows 2000 ou XP": a workstation under another system is not covered."""
    os_name, contract = f.operating_system, f.contract
    if not os_name or not contract.supported_operating_systems:
        return None
    if named_in(os_name, contract.supported_operating_systems):
        return None
    if named_in(os_name, contract.obsolete_operating_systems) and contract.excludes(
        Exclusion.OBSOLETE_OS
    ):
        return None  # already said, more precisely, by the obsolete-OS exclusion
    covered = ", ".join(contract.supported_operating_systems)
    return _reason(
        Rule.OS_NOT_COVERED,
        f"Poste sous {os_name} : le contrat ne couvre que les postes sous {covered}.",
    )


_EXCLUSION_CHECKS: dict[Exclusion, _ExclusionCheck] = {
    Exclusion.HARDWARE_OUTSIDE_IT: _hardware_outside_it,
    Exclusion.PRIVATE_REQUEST: _private,
    Exclusion.VISITING_STAFF: _visiting,
    Exclusion.PERSONAL_TRAINING: _personal_training,
    Exclusion.OBSOLETE_OS: _obsolete_os,
    Exclusion.OBSOLETE_SOFTWARE: _obsolete_software,
    Exclusion.UNAPPROVED_SOFTWARE: _unapproved_software,
}


def _applies(exclusion: Exclusion, check: _ExclusionCheck) -> _ExclusionCheck:
    def rule(f: _Facts) -> Reason | None:
        return check(f) if f.contract.excludes(exclusion) else None

    return rule


_OUT_OF_SCOPE_RULES: tuple[_ExclusionCheck, ...] = (
    *(_applies(e, c) for e, c in _EXCLUSION_CHECKS.items()),
    _acquired_after_contract,
    _os_not_covered,
)
