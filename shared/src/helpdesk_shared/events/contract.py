"""Events of the `contract` stream category (`contract-<uuid>`): support contracts as evidence.

A contract is never overwritten. It is signed once (version 1), then amended, renewed or
terminated, each fact a new version that takes effect on a stated day; the terms in force on any
day are rebuilt from the stream. A ticket's admissibility names the contract and the version it
was judged against, so the decision can be audited after the contract changes.

The desk may propose to extend a contract when a request falls outside it (docs/desk-rules.md):
the proposal, its acceptance or its refusal are facts of the contract's stream too.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from helpdesk_shared.events.base import DomainEvent

#: The deepest support level; "tous niveaux" in a contract.
ALL_LEVELS = 3


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClientKind(StrEnum):
    """The client is either a person or a company (docs/desk-rules.md)."""

    ORGANISATION = "organisation"
    PERSON = "person"


class ContractClient(_Value):
    """Who holds the contract: an organisation (by name) or a person (by directory login)."""

    kind: ClientKind = ClientKind.ORGANISATION
    name: str = Field(min_length=1, max_length=200)
    #: The person's directory login; required for a person, absent for an organisation.
    login: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _person_has_login(self) -> ContractClient:
        if self.kind is ClientKind.PERSON and self.login is None:
            raise ValueError("a person's contract names the person's login")
        if self.kind is ClientKind.ORGANISATION and self.login is not None:
            raise ValueError("an organisation's contract names no login")
        return self


class CoverageKind(StrEnum):
    SOFTWARE = "software"
    HARDWARE = "hardware"  # an asset kind: pc, printer, peripheral...
    DOMAIN = "domain"  # a support domain: workstation, printers, office_software...


class CoverageItem(_Value):
    """One thing the contract covers, and how deep: level 1 only, up to 2, or every level."""

    kind: CoverageKind
    name: str = Field(min_length=1, max_length=120)
    up_to_level: int = Field(default=ALL_LEVELS, ge=1, le=ALL_LEVELS)
    #: The contract's own words for it ("PC sous Windows 2000 ou XP").
    label: str = Field(default="", max_length=200)

    def is_named(self, kind: CoverageKind, name: str) -> bool:
        return self.kind is kind and self.name.strip().casefold() == name.strip().casefold()


class CoverageRef(_Value):
    """Names an item to withdraw from the coverage."""

    kind: CoverageKind
    name: str = Field(min_length=1, max_length=120)


class RoutedDomain(_Value):
    """A domain the contract sends to another team (servers, network, business applications)."""

    domain: str = Field(min_length=1, max_length=80)
    group: str = Field(min_length=1, max_length=80, description="The support group that takes it")
    label: str = ""


class CoveredAsset(_Value):
    """An asset named in the contract (or added to it by an amendment)."""

    asset_tag: str = Field(min_length=1, max_length=80)
    kind: str = ""
    acquired_on: date | None = None


class ContractTerms(_Value):
    """What a contract says, as signed or as amended: the terms of one version."""

    name: str = Field(min_length=1, max_length=200)
    client: ContractClient
    signed_on: date
    valid_from: date
    valid_until: date | None = None
    coverage: tuple[CoverageItem, ...] = ()
    routed_domains: tuple[RoutedDomain, ...] = ()
    #: Exclusion codes (hardware_outside_it, private_request, obsolete_os, ...).
    exclusions: tuple[str, ...] = ()
    covered_assets: tuple[CoveredAsset, ...] = ()
    #: False: hardware bought after signature is not covered unless an amendment adds it.
    covers_assets_acquired_later: bool = False
    supported_operating_systems: tuple[str, ...] = ()
    obsolete_operating_systems: tuple[str, ...] = ()
    obsolete_software: tuple[str, ...] = ()
    #: The approved software set; empty means the contract does not restrict software.
    approved_software: tuple[str, ...] = ()

    @field_validator("client", mode="before")
    @classmethod
    def _organisation_by_name(cls, value: Any) -> Any:
        """A bare name is an organisation's (the shape contracts had before persons could hold
        one)."""
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _dates_in_order(self) -> ContractTerms:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        return self


class ContractEvent(DomainEvent):
    """Common fields of every contract event."""

    abstract: ClassVar[bool] = True
    stream_category: ClassVar[str] = "contract"

    contract_id: uuid.UUID
    occurred_at: datetime
    by: str


class ContractSigned(ContractEvent):
    """A support contract was signed: its terms are version 1."""

    terms: ContractTerms


class ContractAmended(ContractEvent):
    """The contract's terms changed from a given day: a new version, the earlier ones kept."""

    version: int = Field(ge=2)
    effective_from: date
    reason: str = Field(min_length=1, max_length=500)
    #: Items added, or whose depth changes (matched by kind and name).
    coverage_set: tuple[CoverageItem, ...] = ()
    coverage_removed: tuple[CoverageRef, ...] = ()
    assets_added: tuple[CoveredAsset, ...] = ()
    assets_removed: tuple[str, ...] = ()
    #: When given, the routed domains from now on (all of them).
    routed_domains: tuple[RoutedDomain, ...] | None = None
    #: When given, the exclusions from now on (all of them).
    exclusions: tuple[str, ...] | None = None
    covers_assets_acquired_later: bool | None = None


class ContractRenewed(ContractEvent):
    """The contract runs on to a new end date (or without one)."""

    version: int = Field(ge=2)
    effective_from: date
    valid_until: date | None = None


class ContractTerminated(ContractEvent):
    """The contract ends early: it is in force up to `last_day` and no longer after."""

    version: int = Field(ge=2)
    last_day: date
    reason: str = Field(min_length=1, max_length=500)


class ContractExtensionProposed(ContractEvent):
    """The desk proposed to extend the contract to an item a ticket found uncovered."""

    proposal_id: uuid.UUID
    ticket_id: uuid.UUID | None = None
    item: CoverageItem


class ContractExtensionAccepted(ContractEvent):
    """The client accepted an extension proposal (the amendment that follows carries it)."""

    proposal_id: uuid.UUID


class ContractExtensionDeclined(ContractEvent):
    """The client declined an extension proposal."""

    proposal_id: uuid.UUID
    reason: str | None = None
