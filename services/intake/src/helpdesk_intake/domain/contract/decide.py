"""`decide(command, state) -> events`: the contract's rules. Pure: time comes in the command.

A contract is signed once; afterwards every change is a new version taking effect on a stated
day, never before the latest version's day (versions take effect in the order recorded, so the
terms of any day are unambiguous). A terminated contract takes no further change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import singledispatch

from helpdesk_intake.domain.contract.commands import (
    Amend,
    AnswerExtension,
    ContractCommand,
    ProposeExtension,
    Renew,
    Sign,
    Terminate,
)
from helpdesk_intake.domain.contract.errors import (
    ContractAlreadySigned,
    ContractChangeRefused,
    ContractNotFound,
    InvalidContractCommand,
)
from helpdesk_intake.domain.contract.evolve import amended_terms
from helpdesk_intake.domain.contract.state import ContractState
from helpdesk_shared import catalogue
from helpdesk_shared.events.contract import (
    ContractAmended,
    ContractEvent,
    ContractExtensionAccepted,
    ContractExtensionDeclined,
    ContractExtensionProposed,
    ContractRenewed,
    ContractSigned,
    ContractTerminated,
    CoverageItem,
    CoverageKind,
    RoutedDomain,
)

#: What may be asked of a contract still running (named in a refusal).
CHANGES = ("amend", "renew", "terminate", "propose-extension")


def decide(command: ContractCommand, state: ContractState | None) -> list[ContractEvent]:
    """The events `command` records on `state`, or a `ContractError` saying why not."""
    if isinstance(command, Sign):
        _in_the_catalogue("coverage", command.terms.coverage, command.terms.routed_domains)
        if state is not None:
            raise ContractAlreadySigned("this contract is already signed: amend it instead")
        return [
            ContractSigned(
                contract_id=command.contract_id,
                occurred_at=command.at,
                by=command.by,
                terms=command.terms,
            )
        ]
    if state is None:
        raise ContractNotFound("no such contract")
    if state.terminated and not isinstance(command, AnswerExtension):
        raise ContractChangeRefused(
            f"the contract was terminated (last day {state.current.terms.valid_until}): sign a"
            " new contract",
            ("sign",),
        )
    return _decide(command, state)


def _in_the_catalogue(
    field: str, items: Iterable[CoverageItem], routed: Iterable[RoutedDomain] | None = ()
) -> None:
    """A contract's desk domains (coverage items of kind domain) and routed domains are codes of
    the shared catalogue, so every request's category can be checked against them; refused
    naming the field otherwise (the message lists the codes)."""
    named = (
        (field, [i.name for i in items if i.kind is CoverageKind.DOMAIN]),
        ("routed_domains", [r.domain for r in routed or ()]),
    )
    for name, domains in named:
        for domain in domains:
            if catalogue.category(domain) is None:
                raise InvalidContractCommand(name, str(catalogue.UnknownCategory(domain)))


@singledispatch
def _decide(command: ContractCommand, state: ContractState) -> list[ContractEvent]:
    raise TypeError(f"no rule for {type(command).__name__}")


def _next_version(state: ContractState) -> int:
    return len(state.versions) + 1


def _not_before_latest(state: ContractState, field: str, day: date) -> None:
    latest = state.current.effective_from
    if day < latest:
        raise InvalidContractCommand(
            field, f"must not be before {latest.isoformat()}, when the latest version took effect"
        )


@_decide.register
def _(command: Amend, state: ContractState) -> list[ContractEvent]:
    _in_the_catalogue("coverage_set", command.coverage_set, command.routed_domains)
    _not_before_latest(state, "effective_from", command.effective_from)
    event = ContractAmended(
        contract_id=command.contract_id,
        occurred_at=command.at,
        by=command.by,
        version=_next_version(state),
        effective_from=command.effective_from,
        reason=command.reason,
        coverage_set=command.coverage_set,
        coverage_removed=command.coverage_removed,
        assets_added=command.assets_added,
        assets_removed=command.assets_removed,
        routed_domains=command.routed_domains,
        exclusions=command.exclusions,
        covers_assets_acquired_later=command.covers_assets_acquired_later,
    )
    if amended_terms(state.current.terms, event) == state.current.terms:
        raise InvalidContractCommand("amendment", "changes nothing in the current terms")
    return [event]


@_decide.register
def _(command: Renew, state: ContractState) -> list[ContractEvent]:
    _not_before_latest(state, "effective_from", command.effective_from)
    terms = state.current.terms
    if command.valid_until is not None and command.valid_until < terms.valid_from:
        raise InvalidContractCommand("valid_until", "must not be before valid_from")
    if command.valid_until == terms.valid_until:
        raise InvalidContractCommand("valid_until", "is already the contract's end date")
    return [
        ContractRenewed(
            contract_id=command.contract_id,
            occurred_at=command.at,
            by=command.by,
            version=_next_version(state),
            effective_from=command.effective_from,
            valid_until=command.valid_until,
        )
    ]


@_decide.register
def _(command: Terminate, state: ContractState) -> list[ContractEvent]:
    _not_before_latest(state, "last_day", command.last_day)
    terms = state.current.terms
    if command.last_day < terms.valid_from:
        raise InvalidContractCommand("last_day", "must not be before valid_from")
    return [
        ContractTerminated(
            contract_id=command.contract_id,
            occurred_at=command.at,
            by=command.by,
            version=_next_version(state),
            last_day=command.last_day,
            reason=command.reason,
        )
    ]


@_decide.register
def _(command: ProposeExtension, state: ContractState) -> list[ContractEvent]:
    _in_the_catalogue("item", (command.item,))
    if state.proposal(command.proposal_id) is not None:
        return []  # the same proposal again: already recorded
    return [
        ContractExtensionProposed(
            contract_id=command.contract_id,
            occurred_at=command.at,
            by=command.by,
            proposal_id=command.proposal_id,
            ticket_id=command.ticket_id,
            item=command.item,
        )
    ]


@_decide.register
def _(command: AnswerExtension, state: ContractState) -> list[ContractEvent]:
    proposal = state.proposal(command.proposal_id)
    if proposal is None:
        raise InvalidContractCommand("proposal_id", "no such extension proposal")
    if proposal.status != "proposed":
        raise ContractChangeRefused(f"the proposal was already {proposal.status}")
    common = {
        "contract_id": command.contract_id,
        "occurred_at": command.at,
        "by": command.by,
        "proposal_id": command.proposal_id,
    }
    if not command.accepted:
        return [ContractExtensionDeclined(**common, reason=command.reason)]
    accepted: list[ContractEvent] = [ContractExtensionAccepted(**common)]
    amendment = _extension_amendment(command, state, proposal.item)
    return accepted if amendment is None else [*accepted, amendment]


def _extension_amendment(
    command: AnswerExtension, state: ContractState, item: CoverageItem
) -> ContractAmended | None:
    """The amendment an accepted proposal makes, in the same append: a new version covering the
    item from the answer's day (or the latest version's day, if that is later). None when the
    contract was terminated (nothing more to amend) or already covers the item so."""
    if state.terminated:
        return None
    event = ContractAmended(
        contract_id=command.contract_id,
        occurred_at=command.at,
        by=command.by,
        version=_next_version(state),
        effective_from=max(command.at.date(), state.current.effective_from),
        reason=f"extension accepted ({item.label or item.name})",
        coverage_set=(item,),
    )
    if amended_terms(state.current.terms, event) == state.current.terms:
        return None
    return event
