"""What managers ask of a contract. Time (`at`) and author (`by`) come in every command."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from helpdesk_intake.domain.contracts import (
    ContractTerms,
    CoverageItem,
    CoverageRef,
    CoveredAsset,
    RoutedDomain,
)


@dataclass(frozen=True)
class Sign:
    contract_id: uuid.UUID
    terms: ContractTerms
    at: datetime
    by: str


@dataclass(frozen=True)
class Amend:
    """Change the terms from `effective_from` on; fields left empty (or None) are unchanged."""

    contract_id: uuid.UUID
    effective_from: date
    reason: str
    at: datetime
    by: str
    coverage_set: tuple[CoverageItem, ...] = ()
    coverage_removed: tuple[CoverageRef, ...] = ()
    assets_added: tuple[CoveredAsset, ...] = ()
    assets_removed: tuple[str, ...] = ()
    routed_domains: tuple[RoutedDomain, ...] | None = None
    exclusions: tuple[str, ...] | None = None
    covers_assets_acquired_later: bool | None = None


@dataclass(frozen=True)
class Renew:
    contract_id: uuid.UUID
    effective_from: date
    valid_until: date | None
    at: datetime
    by: str


@dataclass(frozen=True)
class Terminate:
    contract_id: uuid.UUID
    last_day: date
    reason: str
    at: datetime
    by: str


@dataclass(frozen=True)
class ProposeExtension:
    contract_id: uuid.UUID
    proposal_id: uuid.UUID
    item: CoverageItem
    ticket_id: uuid.UUID | None
    at: datetime
    by: str


@dataclass(frozen=True)
class AnswerExtension:
    """The client's answer to a proposal: accepted (then amend the contract) or declined."""

    contract_id: uuid.UUID
    proposal_id: uuid.UUID
    accepted: bool
    at: datetime
    by: str
    reason: str | None = None


ContractCommand = Sign | Amend | Renew | Terminate | ProposeExtension | AnswerExtension
