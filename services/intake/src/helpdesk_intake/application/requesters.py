"""The directory's own writes: adding a requester, correcting one, removing one.

Each runs on the `Directory` of one `IntakeUnit`: a correction reads the entry `for_update`, so
two agents correcting it at once queue instead of losing one of the corrections, and the entry
and its change log row commit together. The routes map the refusals below to problem details;
the directory's reads (the list, an entry, its change log) are `adapters.queries`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from helpdesk_intake.application.ports import IntakeUnit, IntakeUnits
from helpdesk_intake.domain.requesters import Requester, changes_between, corrected

#: The change log's channel of the corrections made through the directory itself.
CHANNEL = "directory"


class LoginTaken(Exception):
    """The login is already in the directory."""

    def __init__(self, login: str) -> None:
        super().__init__(login)
        self.login = login


class RequesterNotFound(Exception):
    """No entry has that id."""


class StaleVersion(Exception):
    """The caller's `If-Match` is not the entry's current version: it corrected an older read."""

    def __init__(self, if_match: str, current: str) -> None:
        super().__init__(if_match, current)
        self.if_match = if_match
        self.current = current


def etag(requester: Requester) -> str:
    """The entry's version as an entity tag: what `If-Match` must repeat."""
    return f'"{requester.version}"'


@dataclass(frozen=True)
class Correction:
    """A partial correction: `fields` are the profile fields given (left out: kept);
    `verified` set clears (True) or raises (False) the verification flag."""

    fields: dict[str, Any]
    verified: bool | None
    changed_by: str
    #: The `If-Match` header as sent, or None to correct whatever version is current.
    if_match: str | None = None


async def add_requester(unit: IntakeUnit, requester: Requester) -> None:
    """Add the entry in the caller's unit (the one holding its `Idempotency-Key` claim)."""
    if not await unit.directory.insert_requester(requester):
        raise LoginTaken(requester.login)


async def correct_requester(
    units: IntakeUnits, requester_id: uuid.UUID, correction: Correction
) -> Requester:
    """Apply the correction and log what it changed; the entry as it is now (a correction that
    changes nothing writes nothing and keeps the version)."""
    async with units() as unit:
        found = await unit.directory.requester_by_id(requester_id, for_update=True)
        if found is None:
            raise RequesterNotFound(requester_id)
        if correction.if_match is not None and correction.if_match.strip() not in (
            etag(found),
            "*",
        ):
            raise StaleVersion(correction.if_match, etag(found))
        updated, changes = _corrections(found, correction)
        if changes:
            updated = await unit.directory.update_requester(
                updated, changes=changes, changed_by=correction.changed_by, channel=CHANNEL
            )
    return updated


def _corrections(found: Requester, correction: Correction) -> tuple[Requester, dict[str, Any]]:
    updated = corrected(found, correction.fields)
    changes = changes_between(found, updated)
    verified = correction.verified
    if verified is not None and verified == found.needs_verification:
        updated = updated.model_copy(update={"needs_verification": not verified})
        changes["needs_verification"] = {"from": found.needs_verification, "to": not verified}
    return updated, changes


async def remove_requester(units: IntakeUnits, requester_id: uuid.UUID) -> None:
    async with units() as unit:
        if not await unit.directory.delete_requester(requester_id):
            raise RequesterNotFound(requester_id)
