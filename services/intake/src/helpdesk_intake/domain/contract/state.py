"""A contract's state: every version of its terms, each with its number and the day it takes
effect. Nothing is overwritten: the terms in force on any day are found among the versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from helpdesk_intake.domain.contracts import Contract, ContractTerms, CoverageItem


@dataclass(frozen=True)
class ContractVersion:
    """The terms from `effective_from` on, until a later version takes effect."""

    number: int
    effective_from: date
    terms: ContractTerms
    #: What made this version: signed, amended, renewed, terminated.
    cause: str
    reason: str | None
    recorded_at: datetime
    by: str


@dataclass(frozen=True)
class ExtensionProposal:
    """An item the desk proposed to add to the contract, and what became of it."""

    proposal_id: uuid.UUID
    item: CoverageItem
    ticket_id: uuid.UUID | None
    by: str
    status: str = "proposed"  # accepted, declined


@dataclass(frozen=True)
class ContractState:
    contract_id: uuid.UUID
    versions: tuple[ContractVersion, ...]
    proposals: tuple[ExtensionProposal, ...] = field(default=())

    @property
    def current(self) -> ContractVersion:
        """The latest version recorded (it may take effect in the future)."""
        return self.versions[-1]

    @property
    def terminated(self) -> bool:
        return self.current.cause == "terminated"

    def contract(self, version: ContractVersion) -> Contract:
        """The version's terms as the pre-qualification reads them."""
        return Contract.of(self.contract_id, version.number, version.terms)

    def proposal(self, proposal_id: uuid.UUID) -> ExtensionProposal | None:
        return next((p for p in self.proposals if p.proposal_id == proposal_id), None)


def version_as_of(state: ContractState, day: date) -> ContractVersion | None:
    """The version in effect on `day`: the latest to take effect on or before it. Versions take
    effect in the order recorded (the decider refuses an amendment dated before the latest), so
    that is also the last such in the list. None before the contract's first day."""
    found = None
    for version in state.versions:
        if version.effective_from <= day:
            found = version
    return found


def in_force_on(state: ContractState, day: date) -> Contract | None:
    """The terms binding the desk on `day`: the version as of then, if it is valid that day."""
    version = version_as_of(state, day)
    if version is None:
        return None
    contract = state.contract(version)
    return contract if contract.is_valid_on(day) else None
