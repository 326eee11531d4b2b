"""`POST /v1/requests/{ticket_id}/verification`: the desk verified a `to_verify` request.

The agent first fixes the directory (adds the asset, confirms the requester's organisation);
intake then judges the ticket's request again, on the facts its `TicketOpened` recorded, and
appends the new decision to the ticket's stream (`AdmissibilityRedecided`, reason `verified`).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from helpdesk_intake.application.redecisions import NothingToVerify, UnknownTicket, verify
from helpdesk_intake.entrypoints.common import IntakeSettings, StaffPrincipal, Units
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/requests", tags=["requests"])


@router.post("/{ticket_id}/verification", summary="Judge a verified request again")
async def verification(
    ticket_id: uuid.UUID, principal: StaffPrincipal, units: Units, settings: IntakeSettings
) -> dict[str, object]:
    """The new decision as evidence (`admissibility`), recorded on the ticket."""
    try:
        event = await verify(
            units, ticket_id, principal.sub, settings.intake_timezone, settings.operating_systems()
        )
    except UnknownTicket as error:
        raise Problem(404, "Introuvable", str(error)) from None
    except NothingToVerify as error:
        raise Problem(
            409,
            "Rien à vérifier",
            str(error),
            type_="urn:helpdesk:problem:nothing-to-verify",
            allowed=[],
        ) from None
    return {
        "ticket_id": str(ticket_id),
        "reason": event.reason.value,
        "admissibility": event.admissibility.model_dump(mode="json"),
    }
