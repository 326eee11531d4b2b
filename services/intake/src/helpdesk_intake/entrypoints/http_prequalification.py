"""`POST /v1/prequalification`: check a request against the contract without recording it.

What the agent on the phone sees before opening the ticket (docs/desk-rules.md: the technician
checks first whether the request is within the contract). Nothing is written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.adapters import queries
from helpdesk_intake.application.open_request import RequesterDetails
from helpdesk_intake.domain.admissibility import judge
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.requesters import Requester
from helpdesk_intake.entrypoints.common import IntakeSettings, invalid
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.events.admissibility import AdmissibilityEvidence
from helpdesk_shared.events.ticket import PreQualification
from helpdesk_shared.http.dependencies import Engine

router = APIRouter(prefix="/v1", tags=["requests"])

Asker = Annotated[
    Principal,
    Depends(require_roles(Role.REQUESTER, Role.AGENT, Role.MANAGER, Role.ADMIN, Role.SERVICE)),
]


class PrequalificationQuery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "requester": {
                        "login": "jdupont",
                        "organisation": "Lycée Victor Hugo",
                        "organisation_kind": "eple",
                    },
                    "request": {
                        "domain": "office_software",
                        "software": "LibreOffice",
                        "operating_system": "Windows 11",
                    },
                }
            ]
        },
        extra="forbid",
    )

    requester: RequesterDetails | None = None
    request: AssistanceRequest = AssistanceRequest()
    on_date: date | None = None


class PrequalificationAnswer(BaseModel):
    pre_qualification: PreQualification
    admissibility: AdmissibilityEvidence
    admissible: bool
    group: str
    requester_known: bool


@router.post(
    "/prequalification",
    response_model=PrequalificationAnswer,
    summary="Check a request against the contract (nothing is recorded)",
)
async def check(
    query: PrequalificationQuery, principal: Asker, engine: Engine, settings: IntakeSettings
) -> PrequalificationAnswer:
    details = query.requester or RequesterDetails()
    if not principal.is_staff:
        details = details.model_copy(update={"login": principal.sub, "organisation": None})
    async with engine.connect() as conn:
        known = await _known(conn, details)
        requester = known or _unknown(details)
        contracts = await queries.held_by(conn, requester.login, requester.organisation)
    on_date = query.on_date or datetime.now(tz=UTC).date()
    systems = settings.operating_systems()
    judgement = judge(query.request, requester, contracts, on_date, systems)
    pq = judgement.summary()
    return PrequalificationAnswer(
        pre_qualification=pq,
        admissibility=judgement.evidence,
        admissible=pq.outcome.value == "admissible",
        group=judgement.group,
        requester_known=known is not None,
    )


async def _known(conn: AsyncConnection, details: RequesterDetails) -> Requester | None:
    if details.login:
        return await queries.requester_by_login(conn, details.login)
    if details.email:
        return await queries.requester_by_email(conn, str(details.email))
    raise invalid("requester", "requester.login or requester.email is required")


def _unknown(details: RequesterDetails) -> Requester:
    """A caller the directory does not know: what it says of itself is to be verified."""
    login = details.login or str(details.email)
    fields = {"name": login, **details.corrections(), "login": login}
    return Requester.model_validate(fields | {"needs_verification": True})
