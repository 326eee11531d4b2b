"""The bodies `/v1/contracts` takes and the views it answers with."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_intake.domain.contract import ContractState, ContractVersion
from helpdesk_intake.domain.contracts import (
    ContractTerms,
    CoverageItem,
    CoverageRef,
    CoveredAsset,
    Exclusion,
    RoutedDomain,
)


class SignContract(ContractTerms):
    """A new contract's terms (version 1). `id` may be chosen by the caller (demo data, imports)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Support bureautique 2026",
                    "client": {"kind": "organisation", "name": "Lycée Victor Hugo"},
                    "signed_on": "2026-01-05",
                    "valid_from": "2026-01-15",
                    "valid_until": "2027-01-14",
                    "coverage": [
                        {"kind": "domain", "name": "printers", "up_to_level": 2},
                        {"kind": "software", "name": "LibreOffice", "up_to_level": 3},
                    ],
                }
            ]
        }
    )

    id: uuid.UUID | None = None
    exclusions: tuple[Exclusion, ...] = ()

    def terms(self) -> ContractTerms:
        return ContractTerms.model_validate(self.model_dump(exclude={"id"}))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmendContract(_Body):
    """What changes, from when, and why. Fields left out are unchanged."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "effective_from": "2026-03-01",
                    "reason": "Avenant n°1 : ajout de la messagerie",
                    "coverage_set": [{"kind": "software", "name": "Thunderbird", "up_to_level": 2}],
                }
            ]
        }
    )

    effective_from: date
    reason: str = Field(min_length=1, max_length=500)
    coverage_set: tuple[CoverageItem, ...] = Field(
        default=(), description="Items added, or re-levelled (matched by kind and name)"
    )
    coverage_removed: tuple[CoverageRef, ...] = ()
    assets_added: tuple[CoveredAsset, ...] = ()
    assets_removed: tuple[str, ...] = ()
    routed_domains: tuple[RoutedDomain, ...] | None = None
    exclusions: tuple[Exclusion, ...] | None = None
    covers_assets_acquired_later: bool | None = None


class RenewContract(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"valid_until": "2028-01-14"}]})

    valid_until: date | None = Field(description="The new end date (null: no end date)")
    effective_from: date | None = Field(default=None, description="Default: today")


class TerminateContract(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"last_day": "2026-12-31", "reason": "Fin du marché"}]}
    )

    last_day: date
    reason: str = Field(min_length=1, max_length=500)


class ProposeExtension(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "item": {"kind": "software", "name": "GIMP", "up_to_level": 1},
                    "ticket_id": "00000000-0000-4000-8000-000000000001",
                }
            ]
        }
    )

    item: CoverageItem
    ticket_id: uuid.UUID | None = None


class AnswerExtension(_Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"accepted": True, "reason": "Accepté par le client"}]}
    )

    accepted: bool
    reason: str | None = Field(default=None, max_length=500)


class ContractView(ContractTerms):
    """One version of a contract: its terms, its number, from when, and what made it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID
    version: int
    latest_version: int
    effective_from: date
    cause: str
    reason: str | None
    recorded_at: datetime
    recorded_by: str


class ImpactView(_Body):
    """The client's requests of the last twelve months judged against the proposed version:
    `would_be_in_scope` were not in scope as decided and would be, by item and by level."""

    requests: int
    would_be_in_scope: int
    by_item: dict[str, int]
    by_level: dict[str, int]


class ProposalView(_Body):
    proposal_id: uuid.UUID
    item: CoverageItem
    ticket_id: uuid.UUID | None
    by: str
    status: str
    #: After an answer: the contract's latest version (an accepted proposal's amendment).
    contract_version: int | None = None
    #: After an acceptance: the tickets whose admissibility was decided again.
    redecided: list[uuid.UUID] = []
    #: What the extension would have changed (on proposing, and reading the proposal).
    impact: ImpactView | None = None


def view(state: ContractState, version: ContractVersion) -> ContractView:
    return ContractView.model_validate(
        {
            **version.terms.model_dump(),
            "id": state.contract_id,
            "version": version.number,
            "latest_version": state.current.number,
            "effective_from": version.effective_from,
            "cause": version.cause,
            "reason": version.reason,
            "recorded_at": version.recorded_at,
            "recorded_by": version.by,
        }
    )
