"""Pre-qualification's facts and checks: the request as the contract sees it, and the rules that
put it out of scope.

Pure and explainable. `domain/admissibility.py` (`judge`) runs these checks against every
contract the requester holds and records each outcome: the exclusions a contract lists
(`_EXCLUSION_CHECKS`), an asset bought after the contract was signed, and a workstation under a
system the contract does not cover (the configured operating systems, `domain/systems.py`, with
the contract's own). Each check answers with its rule code and a French message. An out-of-scope
request is still recorded as a ticket: the caller decides, nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk_intake.domain.contracts import Contract, Exclusion, named_in
from helpdesk_intake.domain.requesters import Equipment, Requester
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared import catalogue
from helpdesk_shared.events.ticket import BreakdownCause, Reason


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
    WORKSTATION_CHARTER = "workstation_charter"


class AssistanceRequest(BaseModel):
    """The facts of a request that the contract is checked against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: A code of the shared catalogue (an older alias is read as today's code).
    domain: str | None = Field(default=None, max_length=80)
    software: str | None = Field(default=None, max_length=120)
    asset_tag: str | None = Field(default=None, max_length=80)
    operating_system: str | None = Field(default=None, max_length=80)
    private: bool = False
    personal_training: bool = False
    #: What the requester or the agent believes caused the breakdown (None: not said).
    suspected_cause: BreakdownCause | None = None

    @field_validator("domain")
    @classmethod
    def _in_the_catalogue(cls, domain: str | None) -> str | None:
        return None if domain is None else catalogue.known(domain)


@dataclass(frozen=True)
class _Facts:
    request: AssistanceRequest
    requester: Requester
    contract: Contract
    asset: Equipment | None
    systems: OperatingSystems = DEFAULT_SYSTEMS

    @property
    def obsolete_systems(self) -> tuple[str, ...]:
        """The configured obsolete systems and any the contract adds."""
        return (*self.systems.obsolete, *self.contract.obsolete_operating_systems)

    @property
    def supported_systems(self) -> tuple[str, ...]:
        """The systems the contract names, else the configured supported ones."""
        return self.contract.supported_operating_systems or self.systems.supported

    @property
    def operating_system(self) -> str | None:
        if self.request.operating_system:
            return self.request.operating_system
        return self.asset.operating_system if self.asset else None


def _reason(rule: Rule, message: str) -> Reason:
    return Reason(rule=rule.value, message=message)


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
    if not os_name or not named_in(os_name, f.obsolete_systems):
        return None
    return _reason(Rule.OBSOLETE_OS, f"Poste sous un système d'exploitation obsolète ({os_name}).")


def _obsolete_software(f: _Facts) -> Reason | None:
    software = f.request.software
    if not software or not named_in(software, f.contract.obsolete_software):
        return None
    return _reason(Rule.OBSOLETE_SOFTWARE, f"Logiciel obsolète ({software}).")


def _unapproved_software(f: _Facts) -> Reason | None:
    """A software breakdown caused by installing software outside the approved base: the cause
    declared on the form decides, not the software the request names (asking about software
    outside the base, or a breakdown with another cause, is not this exclusion)."""
    if f.request.suspected_cause is not BreakdownCause.SOFTWARE_OUTSIDE_APPROVED_BASE:
        return None
    named = f" ({f.request.software})" if f.request.software else ""
    return _reason(
        Rule.UNAPPROVED_SOFTWARE,
        f"Panne logicielle due à l'installation d'un logiciel hors du socle approuvé{named}.",
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
    """A workstation under a system outside the supported ones is not covered."""
    os_name, contract, supported = f.operating_system, f.contract, f.supported_systems
    if not os_name or not supported:
        return None
    if named_in(os_name, supported):
        return None
    if named_in(os_name, f.obsolete_systems) and contract.excludes(Exclusion.OBSOLETE_OS):
        return None  # already said, more precisely, by the obsolete-OS exclusion
    covered = ", ".join(supported)
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
