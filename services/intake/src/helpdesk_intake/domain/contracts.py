"""Support contracts: who is covered, for what, from when to when, and what is excluded.

Before answering, the desk checks that a contract binds the caller (its organisation, or the
caller as a person) and that the request falls inside its scope (docs/desk-rules.md). A contract
lists what it covers and how deep (coverage items: software, hardware, domains, each up to a
support level), the domains it routes to other teams (with the group that takes them), the assets
it covers, and the exclusions.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import Field

from helpdesk_shared.catalogue import CategoryCode
from helpdesk_shared.events.contract import (
    ClientKind,
    ContractClient,
    ContractTerms,
    CoverageItem,
    CoverageKind,
    CoverageRef,
    CoveredAsset,
    RoutedDomain,
)

__all__ = [
    "ClientKind",
    "Contract",
    "ContractClient",
    "ContractTerms",
    "CoverageItem",
    "CoverageKind",
    "CoverageRef",
    "CoveredAsset",
    "Exclusion",
    "RoutedDomain",
    "SupportDomain",
    "named_in",
    "same_name",
]

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


class Contract(ContractTerms):
    """One version of a support contract's terms, with the contract's id and the version number.

    The terms are those of the shared catalogue (`ContractSigned`, `ContractAmended`); the
    contract's stream keeps every version (`domain.contract`), and pre-qualification judges a
    request against the version in force on the request's day.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    #: 1 as signed, then one more per amendment, renewal or termination.
    version: int = Field(default=1, ge=1)
    exclusions: tuple[Exclusion, ...] = ()

    @classmethod
    def of(cls, contract_id: uuid.UUID, version: int, terms: ContractTerms) -> Contract:
        return cls.model_validate({**terms.model_dump(), "id": contract_id, "version": version})

    def terms(self) -> ContractTerms:
        return ContractTerms.model_validate(self.model_dump(exclude={"id", "version"}))

    @property
    def level1_domains(self) -> tuple[str, ...]:
        """The domains the desk itself supports: the coverage items of kind domain."""
        return tuple(i.name for i in self.coverage if i.kind is CoverageKind.DOMAIN)

    def coverage_of(self, kind: CoverageKind, name: str) -> CoverageItem | None:
        return next((i for i in self.coverage if i.is_named(kind, name)), None)

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def routed(self, domain: str) -> RoutedDomain | None:
        return next((r for r in self.routed_domains if r.domain == domain), None)

    def covered_asset(self, asset_tag: str) -> CoveredAsset | None:
        tag = asset_tag.casefold()
        return next((a for a in self.covered_assets if a.asset_tag.casefold() == tag), None)

    def excludes(self, exclusion: Exclusion) -> bool:
        return exclusion in self.exclusions

    def is_held_by(self, login: str, organisation: str | None) -> bool:
        """A person holds it by login; an organisation's members by the organisation's name."""
        if self.client.kind is ClientKind.PERSON:
            return self.client.login == login
        return organisation is not None and same_name(self.client.name, organisation)


def same_name(a: str, b: str) -> bool:
    """Names of software and systems compare without case or surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


def named_in(name: str, names: tuple[str, ...]) -> bool:
    return any(same_name(name, n) for n in names)
