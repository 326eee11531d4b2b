"""`/v1/requesters`: the requester directory, with the change log of every correction."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from helpdesk_intake.adapters import directory
from helpdesk_intake.domain.requesters import (
    Equipment,
    OrganisationKind,
    Requester,
    RequesterProfile,
    changes_between,
    corrected,
)
from helpdesk_intake.entrypoints.common import (
    ManagerPrincipal,
    StaffPrincipal,
    not_found,
)
from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.idempotency import HEADER, IdempotencyGuard
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/requesters", tags=["requesters"])


class NewRequester(RequesterProfile):
    login: str = Field(min_length=1, max_length=200)
    needs_verification: bool = False


class RequesterUpdate(BaseModel):
    """A partial correction; fields left out are kept. `verified` clears the verification flag."""

    model_config = ConfigDict(extra="forbid")

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


@router.post("", status_code=201, response_model=Requester, summary="Add a requester")
async def create_requester(
    body: NewRequester,
    principal: StaffPrincipal,
    engine: Engine,
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
        if not await directory.insert_requester(conn, requester):
            raise Problem(409, "Conflit", f"The login {body.login!r} is already in the directory.")
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
        return await directory.list_requesters(
            conn, organisation=organisation, limit=limit, offset=offset
        )


@router.get("/{requester_id}", response_model=Requester, summary="One requester (with ETag)")
async def get_requester(
    requester_id: uuid.UUID, principal: CurrentPrincipal, engine: Engine, response: Response
) -> Requester:
    async with engine.connect() as conn:
        found = await directory.requester_by_id(conn, requester_id)
    if found is None or not (principal.is_staff or found.login == principal.sub):
        raise not_found("requester")
    response.headers["ETag"] = _etag(found)
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
    engine: Engine,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> Requester:
    async with engine.begin() as conn:
        found = await directory.requester_by_id(conn, requester_id, for_update=True)
        if found is None:
            raise not_found("requester")
        if if_match is not None and if_match.strip() not in (_etag(found), "*"):
            raise Problem(
                412,
                "Version périmée",
                f"If-Match {if_match} does not match the current version {_etag(found)}.",
                type_="urn:helpdesk:problem:precondition-failed",
            )
        updated, changes = _corrections(found, body)
        if changes:
            updated = await directory.update_requester(
                conn, updated, changes=changes, changed_by=principal.sub, channel="directory"
            )
    response.headers["ETag"] = _etag(updated)
    return updated


def _etag(requester: Requester) -> str:
    return f'"{requester.version}"'


def _corrections(found: Requester, body: RequesterUpdate) -> tuple[Requester, dict[str, Any]]:
    updated = corrected(found, body.model_dump(exclude_unset=True, exclude={"verified"}))
    changes = changes_between(found, updated)
    if body.verified is not None and body.verified == found.needs_verification:
        updated = updated.model_copy(update={"needs_verification": not body.verified})
        changes["needs_verification"] = {"from": found.needs_verification, "to": not body.verified}
    return updated, changes


@router.get("/{requester_id}/changes", response_model=list[Change], summary="The change log")
async def requester_changes(
    requester_id: uuid.UUID, _: StaffPrincipal, engine: Engine
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        if await directory.requester_by_id(conn, requester_id) is None:
            raise not_found("requester")
        rows = await directory.requester_changes(conn, requester_id)
    return [r | {"changed_at": r["changed_at"].isoformat()} for r in rows]


@router.delete("/{requester_id}", status_code=204, summary="Remove a requester")
async def delete_requester(
    requester_id: uuid.UUID, _: ManagerPrincipal, engine: Engine
) -> Response:
    async with engine.begin() as conn:
        if not await directory.delete_requester(conn, requester_id):
            raise not_found("requester")
    return Response(status_code=204)
