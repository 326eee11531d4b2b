"""`/v1/problems`: ITIL problems, the causes of incidents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.idempotency import HEADER
from helpdesk_ticket.adapters.problem_index import problem_ids
from helpdesk_ticket.application.problems import LoadedProblem, ProblemService
from helpdesk_ticket.domain import problem as p

router = APIRouter(prefix="/v1/problems", tags=["problems"])
IfMatch = Annotated[str | None, Header(description="The problem's version, as sent in ETag")]


class ProblemView(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    category: str | None
    status: str
    created_at: datetime
    created_by: str
    incidents: list[uuid.UUID]
    workaround: str | None
    root_cause: str | None
    resolution: str | None
    resolved_at: datetime | None
    version: int
    allowed_commands: list[str]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateBody(_Body):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(min_length=1, max_length=20_000)
    category: str | None = None
    #: Incidents already known to come from this cause.
    incidents: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class LinkBody(_Body):
    ticket_id: uuid.UUID


class WorkaroundBody(_Body):
    workaround: str = Field(min_length=1, max_length=20_000)
    known_error: bool = False
    root_cause: str | None = Field(default=None, max_length=20_000)


class ResolveBody(_Body):
    resolution: str = Field(min_length=1, max_length=20_000)


def _service(request: Request) -> ProblemService:
    svc: ProblemService = request.app.state.problem_service
    return svc


def view(loaded: LoadedProblem) -> ProblemView:
    state = loaded.problem
    return ProblemView(
        id=state.id,
        title=state.title,
        description=state.description,
        category=state.category,
        status=state.status.value,
        created_at=state.created_at,
        created_by=state.created_by,
        incidents=list(state.incidents),
        workaround=state.workaround,
        root_cause=state.root_cause,
        resolution=state.resolution,
        resolved_at=state.resolved_at,
        version=loaded.version,
        allowed_commands=p.allowed_problem_commands(state),
    )


@router.post("", status_code=201, summary="Create a problem (honours Idempotency-Key)")
async def create_problem(
    body: CreateBody,
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    svc = _service(request)
    command = p.CreateProblem(
        by=principal.sub,
        at=svc.clock(),
        problem_id=uuid.uuid4(),
        title=body.title,
        description=body.description,
        category=body.category,
        incidents=tuple(body.incidents),
    )
    stored = await svc.create(
        principal,
        command,
        idempotency_key,
        body.model_dump(mode="json"),
        lambda loaded: view(loaded).model_dump(mode="json"),
    )
    headers = {"ETag": f'"{stored.body["version"]}"'}
    if stored.location:
        headers["Location"] = stored.location
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)


@router.get("", summary="Problems, newest first; `ticket_id` for the causes of one incident")
async def list_problems(
    request: Request,
    principal: CurrentPrincipal,
    ticket_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProblemView]:
    svc = _service(request)
    svc.authorize(principal)
    ids = await problem_ids(svc.store.engine, ticket_id, limit)
    return [view(await svc.load(i)) for i in ids]


@router.get("/{problem_id}", summary="A problem, rebuilt from its events")
async def get_problem(
    problem_id: uuid.UUID, request: Request, response: Response, principal: CurrentPrincipal
) -> ProblemView:
    svc = _service(request)
    svc.authorize(principal)
    loaded = await svc.load(problem_id)
    response.headers["ETag"] = f'"{loaded.version}"'
    return view(loaded)


async def _run(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    problem_id: uuid.UUID,
    build: Any,
    if_match: str | None,
) -> ProblemView:
    loaded = await _service(request).execute(principal, problem_id, build, if_match)
    response.headers["ETag"] = f'"{loaded.version}"'
    return view(loaded)


@router.post("/{problem_id}/link", summary="Attribute an incident to this problem")
async def link(
    problem_id: uuid.UUID,
    body: LinkBody,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ProblemView:
    def build(by: str, at: datetime) -> p.ProblemCommand:
        return p.LinkIncident(by=by, at=at, ticket_id=body.ticket_id)

    return await _run(request, response, principal, problem_id, build, if_match)


@router.post("/{problem_id}/unlink", summary="Remove an incident linked by mistake")
async def unlink(
    problem_id: uuid.UUID,
    body: LinkBody,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ProblemView:
    def build(by: str, at: datetime) -> p.ProblemCommand:
        return p.UnlinkIncident(by=by, at=at, ticket_id=body.ticket_id)

    return await _run(request, response, principal, problem_id, build, if_match)


@router.post("/{problem_id}/workaround", summary="Record a workaround or a known error")
async def workaround(
    problem_id: uuid.UUID,
    body: WorkaroundBody,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ProblemView:
    def build(by: str, at: datetime) -> p.ProblemCommand:
        return p.RecordWorkaround(by=by, at=at, **body.model_dump())

    return await _run(request, response, principal, problem_id, build, if_match)


@router.post("/{problem_id}/resolve", summary="The cause is removed")
async def resolve(
    problem_id: uuid.UUID,
    body: ResolveBody,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    if_match: IfMatch = None,
) -> ProblemView:
    def build(by: str, at: datetime) -> p.ProblemCommand:
        return p.ResolveProblem(by=by, at=at, resolution=body.resolution)

    return await _run(request, response, principal, problem_id, build, if_match)
