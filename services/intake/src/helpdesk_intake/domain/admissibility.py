"""Admissibility as evidence: a request judged against every contract the requester holds.

Pure. On the request's day, each contract the requester holds (its organisation's, or its own as
a person) is taken at the version then in force, and every rule is evaluated in order and
recorded with its outcome, under the code of what it found (`no_contract`, `in_scope`,
`domain_routed`, `excluded_private_request`...): who asks, whether the asset is known, which
contracts are held and in force, then for each contract in force its exclusions, the asset's
purchase date, the operating system, and the coverage of the domain, the software and the
hardware with its depth. The
contract that covers the request is kept (the deepest coverage first); the decision names it and
the version applied, so it can be audited after the contract changes.

`to_verify` instead of `in_scope` when the desk cannot trust the facts: the requester's
organisation was only declared by the caller (a login unknown to the directory), the asset is
not in the directory, or a workstation problem's workstation is not known to comply with the
charter in force (`domain/prerequisites.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from helpdesk_intake.domain.contract import ContractState, in_force_on
from helpdesk_intake.domain.contracts import Contract, CoverageItem, CoverageKind
from helpdesk_intake.domain.coverage import depth_rules, domain_rule, rule
from helpdesk_intake.domain.prequalification import (
    _EXCLUSION_CHECKS,
    AssistanceRequest,
    _acquired_after_contract,
    _Facts,
    _os_not_covered,
)
from helpdesk_intake.domain.prerequisites import workstation_charter
from helpdesk_intake.domain.requesters import Requester
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared.catalogue import DESK_GROUP
from helpdesk_shared.events.admissibility import (
    AdmissibilityEvidence,
    Decision,
    RuleEvaluation,
    RuleOutcome,
    summary_from_evidence,
)
from helpdesk_shared.events.ticket import PreQualification, Reason

PASSED, FAILED = RuleOutcome.PASSED, RuleOutcome.FAILED
TO_VERIFY, NOT_APPLICABLE = RuleOutcome.TO_VERIFY, RuleOutcome.NOT_APPLICABLE


#: The rules whose passing puts a request in scope (the summary's reasons for `in_scope`).
_SCOPE_RULES = frozenset({"in_scope", "domain_routed", "domain_to_qualify"})


@dataclass(frozen=True)
class Judgement:
    """The evidence, and the group the new ticket starts in (`desk` unless routed)."""

    evidence: AdmissibilityEvidence
    group: str = DESK_GROUP

    def summary(self) -> PreQualification:
        """The version-1 summary: the outcome and the rules that decided it."""
        evidence = self.evidence
        derived = PreQualification.model_validate(summary_from_evidence(evidence))
        if evidence.decision is not Decision.IN_SCOPE:
            return derived
        deciding = tuple(
            Reason(rule=r.rule, message=r.detail)
            for r in evidence.rules
            if r.contract_id == evidence.contract_id and r.rule in _SCOPE_RULES
        )
        return derived.model_copy(update={"reasons": deciding or derived.reasons[-1:]})


@dataclass(frozen=True)
class _Verdict:
    """One contract's answer to the request."""

    contract: Contract
    decision: Decision
    rules: tuple[RuleEvaluation, ...]
    routed_group: str | None = None
    routed_domain: str | None = None
    covered_item: CoverageItem | None = None

    @property
    def rank(self) -> tuple[int, int]:
        """Kept first: handled by the desk (deepest coverage first), routed, to verify, out."""
        order = {Decision.IN_SCOPE: 0, Decision.TO_VERIFY: 2, Decision.OUT_OF_SCOPE: 3}
        place = order[self.decision] + (1 if self.routed_group else 0)
        depth = self.covered_item.up_to_level if self.covered_item else 3
        return place, -depth


def judge(
    request: AssistanceRequest,
    requester: Requester,
    contracts: Sequence[ContractState],
    on_date: date,
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> Judgement:
    """Decide the request's admissibility on `on_date`, recording every rule evaluated; the
    configured obsolete and supported operating systems apply with each contract's own."""
    rules: list[RuleEvaluation] = [_identified(requester)]
    checks = [
        r
        for r in (_asset_known(request, requester), workstation_charter(request, requester))
        if r is not None
    ]
    rules.extend(checks)
    held = [s for s in contracts if _holds(s, requester)]
    rules.append(_held(held, requester))
    in_force: list[Contract] = []
    for state in held:
        contract = in_force_on(state, on_date)
        rules.append(_in_force(state, contract, on_date))
        if contract is not None:
            in_force.append(contract)
    verdicts = [_verdict(request, requester, c, systems) for c in in_force]
    for verdict in verdicts:
        rules.extend(verdict.rules)
    kept = min(verdicts, key=lambda v: v.rank) if verdicts else None
    decision = kept.decision if kept else Decision.OUT_OF_SCOPE
    if decision is Decision.IN_SCOPE and any(r.outcome is TO_VERIFY for r in checks):
        decision = Decision.TO_VERIFY
    if requester.needs_verification:
        decision = Decision.TO_VERIFY
    return _judgement(decision, kept, held, rules)


def _judgement(
    decision: Decision,
    kept: _Verdict | None,
    held: list[ContractState],
    rules: list[RuleEvaluation],
) -> Judgement:
    if kept is None:
        contract_id = held[0].contract_id if held else None
        evidence = AdmissibilityEvidence(
            decision=decision, contract_id=contract_id, rules=tuple(rules)
        )
        return Judgement(evidence)
    item = kept.covered_item if decision is not Decision.OUT_OF_SCOPE else None
    evidence = AdmissibilityEvidence(
        decision=decision,
        contract_id=kept.contract.id,
        contract_version=kept.contract.version,
        rules=tuple(rules),
        routed_domain=kept.routed_domain,
        up_to_level=item.up_to_level if item else None,
        covered_item=item,
    )
    routed = kept.routed_group if decision is Decision.IN_SCOPE else None
    return Judgement(evidence, routed or DESK_GROUP)


def _holds(state: ContractState, requester: Requester) -> bool:
    return state.contract(state.current).is_held_by(requester.login, requester.organisation)


def _identified(requester: Requester) -> RuleEvaluation:
    if requester.needs_verification:
        who = requester.organisation or "aucune organisation"
        detail = f"Appelant inconnu de l'annuaire ; organisation déclarée ({who}) à vérifier."
        return rule("requester_verified", TO_VERIFY, detail)
    return rule("requester_verified", PASSED, f"« {requester.login} » connu de l'annuaire.")


def _asset_known(request: AssistanceRequest, requester: Requester) -> RuleEvaluation | None:
    if not request.asset_tag:
        return None
    if requester.asset(request.asset_tag) is None:
        detail = f"Le matériel {request.asset_tag} n'est pas dans l'annuaire : à vérifier."
        return rule("asset_known", TO_VERIFY, detail)
    return rule("asset_known", PASSED, f"Matériel {request.asset_tag} connu de l'annuaire.")


def _held(held: list[ContractState], requester: Requester) -> RuleEvaluation:
    if not held:
        who = requester.organisation or requester.login
        return rule("no_contract", FAILED, f"Aucun contrat de support pour « {who} ».")
    names = ", ".join(f"« {s.current.terms.name} »" for s in held)
    return rule("contract_held", PASSED, f"Contrat(s) : {names}.")


def _in_force(state: ContractState, contract: Contract | None, day: date) -> RuleEvaluation:
    when = day.strftime("%d/%m/%Y")
    name = state.current.terms.name
    if contract is None:
        detail = f"Le contrat « {name} » n'est pas en vigueur le {when}."
        code, outcome = "contract_not_valid", FAILED
    else:
        detail = f"Contrat « {name} » en vigueur le {when} (version {contract.version})."
        code, outcome = "contract_in_force", PASSED
    return RuleEvaluation(rule=code, outcome=outcome, detail=detail, contract_id=state.contract_id)


def _verdict(
    request: AssistanceRequest,
    requester: Requester,
    contract: Contract,
    systems: OperatingSystems,
) -> _Verdict:
    asset = requester.asset(request.asset_tag) if request.asset_tag else None
    facts = _Facts(request, requester, contract, asset, systems)
    rules = [*_exclusions(facts), *_terms(facts)]
    scope, routed = domain_rule(request, contract)
    rules.append(scope)
    depth = [*depth_rules(request, requester, contract)]
    rules.extend(rule for rule, _ in depth)
    items = [item for _, item in depth if item is not None]
    if scope.outcome is PASSED and routed is None and (limit := _domain_item(request, contract)):
        items.append(limit)
    covered = min(items, key=lambda i: i.up_to_level) if items else None
    outcomes = {r.outcome for r in rules}
    decision = Decision.OUT_OF_SCOPE if FAILED in outcomes else Decision.IN_SCOPE
    return _Verdict(
        contract,
        decision,
        tuple(rules),
        routed_group=routed.group if routed else None,
        routed_domain=routed.domain if routed else None,
        covered_item=covered,
    )


def _exclusions(facts: _Facts) -> Iterator[RuleEvaluation]:
    """Each exclusion the contract lists, in the contract's catalogue order."""
    for exclusion, check in _EXCLUSION_CHECKS.items():
        if not facts.contract.excludes(exclusion):
            continue
        found = check(facts)
        code = f"excluded_{exclusion.value}"
        if found is None:
            yield rule(code, PASSED, "Exclusion non concernée.", facts.contract)
        else:
            yield rule(found.rule, FAILED, found.message, facts.contract)


def _terms(facts: _Facts) -> Iterator[RuleEvaluation]:
    """The asset's purchase date against the signature, and the workstation's system."""
    for code, check in (
        ("asset_acquired_after_contract", _acquired_after_contract),
        ("os_not_covered", _os_not_covered),
    ):
        found = check(facts)
        if found is not None:
            yield rule(found.rule, FAILED, found.message, facts.contract)
        else:
            yield rule(code, PASSED, "Conforme au contrat.", facts.contract)


def _domain_item(request: AssistanceRequest, contract: Contract) -> CoverageItem | None:
    if request.domain is None:
        return None
    return contract.coverage_of(CoverageKind.DOMAIN, request.domain)
