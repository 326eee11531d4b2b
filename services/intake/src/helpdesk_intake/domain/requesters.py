"""The requester directory: who calls, for which organisation, with which equipment.

At each contact the desk checks and, where the caller corrects it, updates (docs/desk-rules.md)
the requester's data (name, department, organisation, office, equipment). The change is kept with
who made it and when, so `changes_between` says exactly what differs.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class OrganisationKind(StrEnum):
    """Who the client organisation is: a person, a company, or a school (EPLE)."""

    PERSON = "person"
    COMPANY = "company"
    #: Établissement public local d'enseignement: a secondary school of an academy, whose
    #: staff may be helped by remote maintenance once they formally consent.
    EPLE = "eple"


#: The kinds of equipment that are workstations (the charter's prerequisite applies to them).
WORKSTATION_KINDS = frozenset({"pc", "laptop", "workstation"})


class CharterCompliance(BaseModel):
    """Whether a workstation complies with the charter in force, as checked on a day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compliant: bool
    checked_on: date


class Equipment(BaseModel):
    """One asset the requester uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_tag: str = Field(min_length=1, max_length=80)
    kind: str = Field(default="pc", max_length=80)
    operating_system: str | None = Field(default=None, max_length=80)
    acquired_on: date | None = None
    #: An exclusion: hardware bought outside the IT service (or outside the framework contract).
    bought_through_it: bool = True
    #: An exclusion: personal, domestic equipment.
    private: bool = False
    #: A workstation's compliance with the charter in force, as last checked (None: never).
    charter: CharterCompliance | None = None

    @property
    def is_workstation(self) -> bool:
        return self.kind.casefold() in WORKSTATION_KINDS


class RequesterProfile(BaseModel):
    """The fields an agent checks and corrects at each contact."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    organisation: str | None = Field(default=None, max_length=200)
    organisation_kind: OrganisationKind = OrganisationKind.COMPANY
    #: The academy an EPLE belongs to (e.g. "Paris").
    academy: str | None = Field(default=None, max_length=120)
    role: str | None = Field(default=None, max_length=120)
    department: str | None = Field(default=None, max_length=120)
    office: str | None = Field(default=None, max_length=40)
    preferred_language: str = Field(default="fr", min_length=2, max_length=8)
    #: An exclusion: visiting staff ("personnels de passage") get no support on their workstation.
    visiting: bool = False
    equipment: tuple[Equipment, ...] = ()


class Requester(RequesterProfile):
    """A directory entry. `needs_verification` flags one created from an unknown caller."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    login: str = Field(min_length=1, max_length=200)
    needs_verification: bool = False
    version: int = 1

    def asset(self, asset_tag: str) -> Equipment | None:
        tag = asset_tag.casefold()
        return next((e for e in self.equipment if e.asset_tag.casefold() == tag), None)


def changes_between(before: RequesterProfile, after: RequesterProfile) -> dict[str, Any]:
    """What an update changes, field by field: `{field: {"from": old, "to": new}}`."""
    old = before.model_dump(mode="json")
    new = after.model_dump(mode="json")
    return {
        name: {"from": old.get(name), "to": new.get(name)}
        for name in RequesterProfile.model_fields
        if old.get(name) != new.get(name)
    }


def corrected(requester: Requester, corrections: dict[str, Any]) -> Requester:
    """The requester with the caller's corrections applied (fields left out are kept)."""
    allowed = {k: v for k, v in corrections.items() if k in RequesterProfile.model_fields}
    merged = {**requester.model_dump(), **allowed}
    return Requester.model_validate(merged)
