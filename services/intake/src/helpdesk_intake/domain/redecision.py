"""Judging an opened request again: after the desk verified it, or after its contract grew.

Pure. A ticket's stream says what was asked (`TicketOpened`: the category, the asset tag and the
rest of the form) and what was last decided (the opening's evidence, then each
`AdmissibilityRedecided`); `judge` runs again on those facts with the directory and contracts as
they are now, and the new evidence is recorded as an `AdmissibilityRedecided` on the ticket's
stream, never by rewriting the opening.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from helpdesk_intake.domain.contracts import CoverageItem, CoverageKind, same_name
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_shared.events.admissibility import AdmissibilityEvidence, Decision
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    AdmissibilityRedecided,
    Closed,
    RedecisionReason,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)


@dataclass(frozen=True)
class OpenedRequest:
    """What intake reads back from a ticket's stream to judge its request again."""

    opened: TicketOpened
    #: The latest decision: the opening's, or the last re-decision's.
    evidence: AdmissibilityEvidence
    #: Neither resolved nor closed (a reopening makes it open again).
    is_open: bool
    #: The stream's version: a re-decision is appended expecting it.
    version: int

    @property
    def ticket_id(self) -> uuid.UUID:
        return self.opened.ticket_id


def read_request(events: Sequence[DomainEvent]) -> OpenedRequest | None:
    """The request of a ticket's stream (its events in order); None without an opening."""
    if not events or not isinstance(events[0], TicketOpened):
        return None
    opened = events[0]
    evidence, is_open = opened.admissibility, True
    for event in events[1:]:
        if isinstance(event, AdmissibilityRedecided):
            evidence = event.admissibility
        elif isinstance(event, TicketResolved | Closed):
            is_open = False
        elif isinstance(event, TicketReopened):
            is_open = True
    return OpenedRequest(opened, evidence, is_open, len(events))


def request_facts(opened: TicketOpened) -> AssistanceRequest:
    """The form's facts as recorded at the opening (an opening recorded before the form was kept
    gives only its category and asset tag)."""
    form = opened.form.model_dump() if opened.form else {}
    return AssistanceRequest.model_validate(
        {**form, "domain": opened.category, "asset_tag": opened.asset_tag}
    )


def names_item(opened: TicketOpened, item: CoverageItem) -> bool:
    """Whether the request is about the coverage item: the software it names, its domain."""
    if item.kind is CoverageKind.SOFTWARE:
        software = opened.form.software if opened.form else None
        return software is not None and same_name(software, item.name)
    if item.kind is CoverageKind.DOMAIN:
        return opened.category is not None and same_name(opened.category, item.name)
    return False


def concerned_by_extension(
    request: OpenedRequest, item: CoverageItem, proposed_for: uuid.UUID | None
) -> bool:
    """An open ticket last decided out of scope, about the item the contract now covers (by the
    software or domain its form names, or the ticket the extension was proposed for)."""
    if not request.is_open or request.evidence.decision is not Decision.OUT_OF_SCOPE:
        return False
    return request.ticket_id == proposed_for or names_item(request.opened, item)


def redecided(
    request: OpenedRequest,
    evidence: AdmissibilityEvidence,
    reason: RedecisionReason,
    *,
    at: datetime,
    by: str,
    contract_version: int | None = None,
) -> AdmissibilityRedecided:
    return AdmissibilityRedecided(
        ticket_id=request.ticket_id,
        occurred_at=at,
        admissibility=evidence,
        reason=reason,
        contract_version=contract_version,
        by=by,
    )
