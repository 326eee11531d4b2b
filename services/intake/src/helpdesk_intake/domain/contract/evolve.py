"""`evolve(state, event) -> state`: each contract event adds a version (or records a proposal)."""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import singledispatch

from helpdesk_intake.domain.contract.state import ContractState, ContractVersion, ExtensionProposal
from helpdesk_shared.events.contract import (
    ContractAmended,
    ContractEvent,
    ContractExtensionAccepted,
    ContractExtensionDeclined,
    ContractExtensionProposed,
    ContractRenewed,
    ContractSigned,
    ContractTerminated,
    ContractTerms,
)


class ContractEventOutOfOrder(ValueError):
    """An event that needs a signed contract came first (a corrupt or foreign stream)."""


def evolve(state: ContractState | None, event: ContractEvent) -> ContractState:
    if isinstance(event, ContractSigned):
        terms = event.terms
        first = min(terms.signed_on, terms.valid_from)
        version = ContractVersion(1, first, terms, "signed", None, event.occurred_at, event.by)
        return ContractState(event.contract_id, (version,))
    if state is None:
        raise ContractEventOutOfOrder(f"{type(event).__name__} before ContractSigned")
    return _apply(event, state)


@singledispatch
def _apply(event: ContractEvent, state: ContractState) -> ContractState:
    raise TypeError(f"no evolution for {type(event).__name__}")


def _version(
    state: ContractState, event: ContractEvent, effective: date, terms: ContractTerms, **why: str
) -> ContractState:
    number = len(state.versions) + 1
    version = ContractVersion(
        number, effective, terms, why["cause"], why.get("reason"), event.occurred_at, event.by
    )
    return dataclasses.replace(state, versions=(*state.versions, version))


@_apply.register
def _(event: ContractAmended, state: ContractState) -> ContractState:
    return _version(
        state, event, event.effective_from, amended_terms(state.current.terms, event),
        cause="amended", reason=event.reason,
    )  # fmt: skip


@_apply.register
def _(event: ContractRenewed, state: ContractState) -> ContractState:
    terms = state.current.terms.model_copy(update={"valid_until": event.valid_until})
    return _version(state, event, event.effective_from, terms, cause="renewed")


@_apply.register
def _(event: ContractTerminated, state: ContractState) -> ContractState:
    terms = state.current.terms.model_copy(update={"valid_until": event.last_day})
    return _version(state, event, event.last_day, terms, cause="terminated", reason=event.reason)


@_apply.register
def _(event: ContractExtensionProposed, state: ContractState) -> ContractState:
    proposal = ExtensionProposal(event.proposal_id, event.item, event.ticket_id, event.by)
    return dataclasses.replace(state, proposals=(*state.proposals, proposal))


@_apply.register
def _(event: ContractExtensionAccepted, state: ContractState) -> ContractState:
    return _answered(state, event.proposal_id, "accepted")


@_apply.register
def _(event: ContractExtensionDeclined, state: ContractState) -> ContractState:
    return _answered(state, event.proposal_id, "declined")


def _answered(state: ContractState, proposal_id: object, status: str) -> ContractState:
    proposals = tuple(
        dataclasses.replace(p, status=status) if p.proposal_id == proposal_id else p
        for p in state.proposals
    )
    return dataclasses.replace(state, proposals=proposals)


def amended_terms(terms: ContractTerms, event: ContractAmended) -> ContractTerms:
    """The terms with the amendment applied: items set by kind and name, others kept."""
    removed = {(r.kind, r.name.casefold()) for r in event.coverage_removed}
    setting = {(i.kind, i.name.casefold()): i for i in event.coverage_set}
    kept = [i for i in terms.coverage if (i.kind, i.name.casefold()) not in removed]
    # An item set again keeps its place with its new depth; a new one comes last.
    coverage = tuple(setting.pop((i.kind, i.name.casefold()), i) for i in kept)
    coverage = (*coverage, *setting.values())
    gone = {
        t.casefold() for t in (*event.assets_removed, *(a.asset_tag for a in event.assets_added))
    }
    assets = (
        *(a for a in terms.covered_assets if a.asset_tag.casefold() not in gone),
        *event.assets_added,
    )
    update: dict[str, object] = {"coverage": coverage, "covered_assets": assets}
    if event.routed_domains is not None:
        update["routed_domains"] = event.routed_domains
    if event.exclusions is not None:
        update["exclusions"] = event.exclusions
    if event.covers_assets_acquired_later is not None:
        update["covers_assets_acquired_later"] = event.covers_assets_acquired_later
    return terms.model_copy(update=update)


def replay(events: list[ContractEvent]) -> ContractState | None:
    state: ContractState | None = None
    for event in events:
        state = evolve(state, event)
    return state
