"""Coverage rules: does a contract cover the request's domain, software and hardware, how deep.

Each rule answers with its evaluation (recorded in the admissibility evidence) and, when it
matches a coverage item, the item: the shallowest matched item sets how far the ticket may be
escalated under the contract (`up_to_level`).
"""

from __future__ import annotations

from collections.abc import Iterator

from helpdesk_intake.domain.contracts import Contract, CoverageItem, CoverageKind, RoutedDomain
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.events.admissibility import RuleEvaluation, RuleOutcome


def rule(
    name: str, outcome: RuleOutcome, detail: str, contract: Contract | None = None
) -> RuleEvaluation:
    contract_id = contract.id if contract is not None else None
    return RuleEvaluation(rule=name, outcome=outcome, detail=detail, contract_id=contract_id)


def _levels(item: CoverageItem) -> str:
    return "tous niveaux" if item.up_to_level == 3 else f"jusqu'au niveau {item.up_to_level}"


def domain_rule(
    request: AssistanceRequest, contract: Contract
) -> tuple[RuleEvaluation, RoutedDomain | None]:
    """The domain: covered by the desk, routed by the contract to another team, or outside it."""
    domain, name = request.domain, contract.name
    if domain is None:
        detail = f"Contrat « {name} » : domaine à qualifier par le guichet."
        return rule("domain_to_qualify", RuleOutcome.NOT_APPLICABLE, detail, contract), None
    item = contract.coverage_of(CoverageKind.DOMAIN, domain)
    if item is not None:
        detail = f"Domaine « {domain} » couvert ({_levels(item)}) par le contrat « {name} »."
        return rule("in_scope", RuleOutcome.PASSED, detail, contract), None
    routed = contract.routed(domain)
    if routed is not None:
        detail = f"Domaine « {domain} » à router vers le groupe « {routed.group} »."
        return rule("domain_routed", RuleOutcome.PASSED, detail, contract), routed
    detail = f"Le domaine « {domain} » n'entre pas dans le périmètre du contrat « {name} »."
    return rule("domain_not_in_scope", RuleOutcome.FAILED, detail, contract), None


def depth_rules(
    request: AssistanceRequest, requester: Requester, contract: Contract
) -> Iterator[tuple[RuleEvaluation, CoverageItem | None]]:
    """The software named and the asset's kind, matched against the coverage items."""
    if request.software:
        yield _item_rule(contract, CoverageKind.SOFTWARE, request.software, "software_covered")
    asset = requester.asset(request.asset_tag) if request.asset_tag else None
    if asset is not None:
        yield _item_rule(contract, CoverageKind.HARDWARE, asset.kind, "hardware_covered")


def _item_rule(
    contract: Contract, kind: CoverageKind, name: str, code: str
) -> tuple[RuleEvaluation, CoverageItem | None]:
    item = contract.coverage_of(kind, name)
    if item is None:
        # Not a coverage item: the domain and the exclusions decide (approved software set,
        # routing of non-standard software); only the depth is unknown.
        detail = f"« {name} » n'est pas un élément nommé du contrat : le domaine décide."
        return rule(code, RuleOutcome.NOT_APPLICABLE, detail, contract), None
    label = item.label or item.name
    detail = f"« {label} » couvert {_levels(item)}."
    return rule(code, RuleOutcome.PASSED, detail, contract), item
