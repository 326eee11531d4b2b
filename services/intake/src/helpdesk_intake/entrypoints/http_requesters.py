"""`/v1/requesters`: the requester directory, with the change log of every correction."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpdesk_intake.adapters import queries
from helpdesk_intake.application.requesters import (
    Correction,
    LoginTaken,
    RequesterNotFound,
    StaleVersion,
    add_requester,
    correct_requester,
    etag,
    remove_requester,
)
from helpdesk_intake.domain.requesters import (
    Equipment,
    OrganisationKind,
    Requester,
    RequesterProfile,
)
from helpdesk_intake.entrypoints.common import (
    ManagerPrincipal,
    StaffPrincipal,
    Units,
    UnitWithin,
    not_found,
)
from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.idempotency import HEADER, IdempotencyGuard
from helpdesk_shared.http.openapi import problem_responses
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/requesters", tags=["requesters"])


class NewRequester(RequesterProfile):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jeanne Dupont",
                    "login": "jdupont",
                    "email": "jeanne.dupont@example.org",
                    "phone": "+33 1 23 45 67 89",
                    "organisation": "Lycée Victor Hugo",
                    "organisation_kind": "eple",
                    "office": "B214",
                }
            ]
        }
    )

    login: str = Field(min_length=1, max_length=200)
    needs_verification: bool = False


class RequesterUpdate(BaseModel):
    """A partial correction; fields left out are kept. `verified` clears the verification flag."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+33 1 98 76 54 32", "office": "C102"}]},
        extra="forbid",
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    organisation: str | None = Field(default=None, max_length=200)
    organisation_kind: OrganisationKind | None = None
    role: str | None = Field(default=None, max_length=120)
    department: str | None = Field(default=None, max_length=120)
    office: str | None = Field(default=None, max_length=40)
    preferred_language: str | None = Field(default=None, min_length=2, max_length=8)
    visiting: bool | None = None
    equipment: tuple[Equipment, ...] | None = None
    verified: bool | None = None


class Change(BaseModel):
    changed_by: str
    changed_at: str
    channel: str | None
    changes: dict[str, Any]


@router.post(
    "",
    status_code=201,
    response_model=Requester,
    summary="Add a requester",
    responses=problem_responses(409),  # the login is already in the directory
)
async def create_requester(
    body: NewRequester,
    principal: StaffPrincipal,
    engine: Engine,
    unit_within: UnitWithin,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    requester = Requester.model_validate(body.model_dump())
    scope = f"POST /v1/requesters:{principal.sub}"
    async with engine.begin() as conn:
        guard = await IdempotencyGuard.claim(
            conn, scope, idempotency_key, body.model_dump(mode="json")
        )
        if guard.replay is not None:
            replay = guard.replay
            headers = {"Location": replay.location} if replay.location else {}
            return JSONResponse(replay.body, status_code=replay.status_code, headers=headers)
        try:
            await add_requester(unit_within(conn), requester)
        except LoginTaken:
            raise Problem(
                409, "Conflit", f"The login {body.login!r} is already in the directory."
            ) from None
        payload = requester.model_dump(mode="json")
        location = f"/v1/requesters/{requester.id}"
        await guard.remember(201, payload, location)
    return JSONResponse(payload, status_code=201, headers={"Location": location})


@router.get("", response_model=list[Requester], summary="List the directory")
async def list_requesters(
    _: StaffPrincipal,
    engine: Engine,
    organisation: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[Requester]:
    async with engine.connect() as conn:
        return await queries.list_requesters(
            conn, organisation=organisation, limit=limit, offset=offset
        )


@router.get("/{requester_id}", response_model=Requester, summary="One requester (with ETag)")
async def get_requester(
    requester_id: uuid.UUID, principal: CurrentPrincipal, engine: Engine, response: Response
) -> Requester:
    async with engine.connect() as conn:
        found = await queries.requester_by_id(conn, requester_id)
    if found is None or not (principal.is_staff or found.login == principal.sub):
        raise not_found("requester")
    response.headers["ETag"] = etag(found)
    return found


@router.patch(
    "/{requester_id}",
    response_model=Requester,
    summary="Correct a requester's data (If-Match with the ETag guards against lost updates)",
)
async def update_requester(
    requester_id: uuid.UUID,
    body: RequesterUpdate,
    principal: StaffPrincipal,
    units: Units,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> Requester:
    correction = Correction(
        fields=body.model_dump(exclude_unset=True, exclude={"verified"}),
        verified=body.verified,
        changed_by=principal.sub,
        if_match=if_match,
    )
    try:
        updated = await correct_requester(units, requester_id, correction)
    except RequesterNotFound:
        raise not_found("requester") from None
    except StaleVersion as stale:
        raise Problem(
            412,
            "Version périmée",
            f"If-Match {stale.if_match} does not match the current version {stale.current}.",
            type_="urn:helpdesk:problem:precondition-failed",
        ) from None
    response.headers["ETag"] = etag(updated)
    return updated


@router.get("/{requester_id}/changes", response_model=list[Change], summary="The change log")
async def requester_changes(
    requester_id: uuid.UUID, _: StaffPrincipal, engine: Engine
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        if await queries.requester_by_id(conn, requester_id) is None:
            raise not_found("requester")
        rows = await queries.requester_changes(conn, requester_id)
    return [r | {"changed_at": r["changed_at"].isoformat()} for r in rows]


@router.delete("/{requester_id}", status_code=204, summary="Remove a requester")
async def delete_requester(requester_id: uuid.UUID, _: ManagerPrincipal, units: Units) -> Response:
    try:
        await remove_requester(units, requester_id)
    except RequesterNotFound:
        raise not_found("requester") from None
    return Response(status_code=204)
