"""What an extension would have changed: the client's past requests judged against it.

Pure. The proposed version is the contract's latest terms with the proposal's item set (as the
amendment made on acceptance would set it), standing in for the contract on every request's
day; each request is judged by the same `judge` as at its opening, on the facts its
`TicketOpened` recorded. Nothing is written: this is a replay, to help the client decide.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.contract.evolve import amended_terms
from helpdesk_intake.domain.contracts import CoverageItem
from helpdesk_intake.domain.redecision import request_facts
from helpdesk_intake.domain.requesters import Requester
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.contract import ContractAmended
from helpdesk_shared.events.ticket import TicketOpened


@dataclass(frozen=True)
class PastRequest:
    """One request of the client, with what it was last decided and who asked, as now known."""

    opened: TicketOpened
    decided: AdmissibilityEvidence
    requester: Requester
    #: Every contract the requester holds now (the one extended among them).
    contracts: Sequence[ContractState]
    #: The request's day, where the desk is.
    day: date


@dataclass(frozen=True)
class Impact:
    """`requests` judged again; `would_be_in_scope` of them were not in scope as decided and
    would be under the proposed version; `by_item` and `by_level` break those down by the
    coverage item that would cover them and its depth (`"-"`: no named item)."""

    requests: int
    would_be_in_scope: int
    by_item: dict[str, int]
    by_level: dict[str, int]


def proposed_version(state: ContractState, item: CoverageItem) -> ContractState:
    """The contract as if only its latest terms, with the item set, had ever been in force."""
    latest = state.current
    change = ContractAmended(
        contract_id=state.contract_id,
        occurred_at=latest.recorded_at,
        by=latest.by,
        version=latest.number + 1,
        effective_from=latest.effective_from,
        reason="proposed extension",
        coverage_set=(item,),
    )
    terms = amended_terms(latest.terms, change)
    first = state.versions[0].effective_from
    version = dataclasses.replace(latest, number=change.version, effective_from=first, terms=terms)
    return dataclasses.replace(state, versions=(version,))


def extension_impact(
    state: ContractState,
    item: CoverageItem,
    requests: Sequence[PastRequest],
    systems: OperatingSystems = DEFAULT_SYSTEMS,
) -> Impact:
    proposed = proposed_version(state, item)
    by_item: Counter[str] = Counter()
    by_level: Counter[str] = Counter()
    for past in requests:
        contracts = [proposed if c.contract_id == state.contract_id else c for c in past.contracts]
        if all(c.contract_id != state.contract_id for c in contracts):
            contracts.append(proposed)
        judged = judge(request_facts(past.opened), past.requester, contracts, past.day, systems)
        evidence = judged.evidence
        if past.decided.decision is Decision.IN_SCOPE or evidence.decision is not Decision.IN_SCOPE:
            continue
        covered = evidence.covered_item
        by_item[(covered.label or covered.name) if covered else "-"] += 1
        by_level[str(evidence.up_to_level) if evidence.up_to_level else "-"] += 1
    return Impact(len(requests), sum(by_item.values()), dict(by_item), dict(by_level))
