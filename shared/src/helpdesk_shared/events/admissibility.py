"""The admissibility decision as evidence: which contract, which version, which rules, in order.

`TicketOpened` carries it (schema version 2). It says not only what was decided but against
what: the contract and the version of its terms in force on the request's day, each rule
evaluated with its outcome, and how deep the contract covers the request (`up_to_level`), which
the ticket service enforces on escalation. The older summary (`PreQualification`: outcome and
reasons) stays derivable both ways, so readers of version 1 keep working.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.events.contract import CoverageItem


class Decision(StrEnum):
    IN_SCOPE = "in_scope"  # the contract covers it (handled by the desk, or routed by it)
    OUT_OF_SCOPE = "out_of_scope"  # recorded, follow-up planned, never dropped
    TO_VERIFY = "to_verify"  # the desk must check who asks or what it is about before deciding


class RuleOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TO_VERIFY = "to_verify"
    NOT_APPLICABLE = "not_applicable"


class RuleEvaluation(BaseModel):
    """One rule evaluated, in the order evaluated, with what it found (in French)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    outcome: RuleOutcome
    detail: str = ""
    #: The contract the rule was evaluated against, when it concerns one.
    contract_id: uuid.UUID | None = None


class AdmissibilityEvidence(BaseModel):
    """The decision and everything it rests on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Decision
    contract_id: uuid.UUID | None = None
    #: The version of the contract's terms applied; None when no contract or not recorded.
    contract_version: int | None = Field(default=None, ge=1)
    rules: tuple[RuleEvaluation, ...] = ()
    #: The domain the contract routes the request to another team for, when it does.
    routed_domain: str | None = None
    #: How deep the contract covers the request: escalation above this level is refused.
    up_to_level: int | None = Field(default=None, ge=1, le=3)
    #: The coverage item that sets `up_to_level`.
    covered_item: CoverageItem | None = None


#: Old outcome -> decision. "to_route" was in the contract, routed by it: in scope.
_DECISION_OF_OUTCOME = {
    "admissible": Decision.IN_SCOPE,
    "to_route": Decision.IN_SCOPE,
    "out_of_scope": Decision.OUT_OF_SCOPE,
    "to_verify": Decision.TO_VERIFY,
}


def evidence_from_summary(pre_qualification: dict[str, Any]) -> dict[str, Any]:
    """The evidence an old `pre_qualification` body implies (its version was not recorded)."""
    outcome = str(pre_qualification.get("outcome", "admissible"))
    decision = _DECISION_OF_OUTCOME.get(outcome, Decision.TO_VERIFY)
    rule_outcome = {
        Decision.IN_SCOPE: RuleOutcome.PASSED,
        Decision.OUT_OF_SCOPE: RuleOutcome.FAILED,
        Decision.TO_VERIFY: RuleOutcome.TO_VERIFY,
    }[decision]
    contract_id = pre_qualification.get("contract_id")
    rules = [
        {
            "rule": reason.get("rule", ""),
            "outcome": rule_outcome.value,
            "detail": reason.get("message", ""),
            "contract_id": contract_id,
        }
        for reason in pre_qualification.get("reasons") or ()
    ]
    return {
        "decision": decision.value,
        "contract_id": contract_id,
        "contract_version": None,
        "rules": rules,
        "routed_domain": pre_qualification.get("routed_domain"),
    }


def summary_from_evidence(evidence: AdmissibilityEvidence) -> dict[str, Any]:
    """The `pre_qualification` summary of the evidence: outcome and the rules that decided."""
    if evidence.decision is Decision.IN_SCOPE:
        outcome = "to_route" if evidence.routed_domain else "admissible"
        deciding = RuleOutcome.PASSED
    elif evidence.decision is Decision.OUT_OF_SCOPE:
        outcome, deciding = "out_of_scope", RuleOutcome.FAILED
    else:
        outcome, deciding = "to_verify", RuleOutcome.TO_VERIFY
    kept = evidence.contract_id
    reasons = [
        {"rule": r.rule, "message": r.detail}
        for r in evidence.rules
        if r.outcome is deciding and (r.contract_id in (None, kept))
    ]
    return {
        "outcome": outcome,
        "reasons": reasons,
        "contract_id": str(kept) if kept else None,
        "routed_domain": evidence.routed_domain,
    }


def with_both_forms(data: Any) -> Any:
    """An opening body given either form gets the other: new code writes the evidence, code and
    tests written for version 1 give the summary; both read the same decision."""
    if not isinstance(data, dict):
        return data
    has_evidence = data.get("admissibility") is not None
    has_summary = data.get("pre_qualification") is not None
    if not (has_evidence or has_summary):
        raise ValueError("pre_qualification or admissibility is required")
    if has_summary and not has_evidence:
        return {**data, "admissibility": evidence_from_summary(_as_dict(data["pre_qualification"]))}
    if has_evidence and not has_summary:
        evidence = data["admissibility"]
        if not isinstance(evidence, AdmissibilityEvidence):
            evidence = AdmissibilityEvidence.model_validate(evidence)
        return {**data, "pre_qualification": summary_from_evidence(evidence)}
    return data


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)
