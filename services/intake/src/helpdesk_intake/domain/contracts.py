"""Support contracts: who is covered, for what, from when to when, and what is excluded.

Seed 001 section 3: before answering, the desk checks that a contract binds the caller's
organisation and that the request falls inside its scope. A contract names the domains the desk
supports at level 1, the domains it routes to other teams (with the group that takes them), the
software and hardware it covers, the assets it covers, and the exclusions (seed 003).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk_shared.catalogue import CategoryCode

#: The support domains are the shared catalogue's codes (one vocabulary with the ticket service).
SupportDomain = CategoryCode


class Exclusion(StrEnum):
    """The exclusions of seed 003, each a rule that puts a request out of scope."""

    HARDWARE_OUTSIDE_IT = "hardware_outside_it"
    PRIVATE_REQUEST = "private_request"
    VISITING_STAFF = "visiting_staff"
    PERSONAL_TRAINING = "personal_training"
    OBSOLETE_OS = "obsolete_os"
    OBSOLETE_SOFTWARE = "obsolete_software"
    UNAPPROVED_SOFTWARE = "unapproved_software"


class ContractPart(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoutedDomain(ContractPart):
    """A domain the contract sends to another team (seed 000: serveurs, réseau, applis métier)."""

    domain: str = Field(min_length=1, max_length=80)
    group: str = Field(min_length=1, max_length=80, description="The support group that takes it")
    label: str = ""


class CoveredAsset(ContractPart):
    """An asset named in the contract (or added to it by an amendment)."""

    asset_tag: str = Field(min_length=1, max_length=80)
    kind: str = ""
    acquired_on: date | None = None


class Contract(ContractPart):
    """A support contract between the IT service and a client organisation."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    name: str = Field(min_length=1, max_length=200)
    client: str = Field(min_length=1, max_length=200, description="The client organisation")
    signed_on: date
    valid_from: date
    valid_until: date | None = None
    level1_domains: tuple[str, ...] = ()
    routed_domains: tuple[RoutedDomain, ...] = ()
    covered_software: tuple[str, ...] = ()
    covered_hardware: tuple[str, ...] = ()
    #: Operating systems the contract supports, when it names its own; empty: the configured
    #: ones (`domain/systems.py`, intake settings).
    supported_operating_systems: tuple[str, ...] = ()
    #: Systems the contract declares obsolete besides the configured ones.
    obsolete_operating_systems: tuple[str, ...] = ()
    obsolete_software: tuple[str, ...] = ()
    #: The approved software set; empty means the contract does not restrict software.
    approved_software: tuple[str, ...] = ()
    covered_assets: tuple[CoveredAsset, ...] = ()
    #: False (seed 001 section 4.2): hardware bought after signature is not covered unless added.
    covers_assets_acquired_later: bool = False
    exclusions: tuple[Exclusion, ...] = ()

    @model_validator(mode="after")
    def _dates_in_order(self) -> Contract:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until must not be before valid_from")
        return self

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def routed(self, domain: str) -> RoutedDomain | None:
        return next((r for r in self.routed_domains if r.domain == domain), None)

    def covered_asset(self, asset_tag: str) -> CoveredAsset | None:
        tag = asset_tag.casefold()
        return next((a for a in self.covered_assets if a.asset_tag.casefold() == tag), None)

    def excludes(self, exclusion: Exclusion) -> bool:
        return exclusion in self.exclusions


def same_name(a: str, b: str) -> bool:
    """Names of software and systems compare without case or surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


def named_in(name: str, names: tuple[str, ...]) -> bool:
    return any(same_name(name, n) for n in names)
