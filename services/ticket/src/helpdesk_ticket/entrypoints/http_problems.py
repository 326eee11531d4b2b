"""`/v1/problems`: ITIL problems, the causes of incidents.

Problems are the support staff's work: every agent reads every problem, but a problem's incidents
are shown only as far as the caller may read them (an agent of another group does not learn the
ids of the desk's tickets through a problem). A problem whose incidents are all out of the
caller's reach is still shown, with no incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.auth import CurrentPrincipal, Principal
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.idempotency import HEADER, KeyHeader, validate_key
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.adapters.queries.problems import problem_ids, readable_incidents
from helpdesk_ticket.application.authorization import reader_bound
from helpdesk_ticket.application.keyed import Keyed
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.domain import problem as p
from helpdesk_ticket.entrypoints.command_routes import (
    CommandBody,
    CommandRoute,
    add_command_routes,
)

router = APIRouter(prefix="/v1/problems", tags=["problems"])


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


class CreateBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Bourrages répétés sur les imprimantes HP",
                    "description": "Trois incidents en une semaine sur le même modèle",
                    "category": "printers",
                    "incidents": ["00000000-0000-4000-8000-000000000001"],
                }
            ]
        },
        extra="forbid",
    )

    title: str = Field(min_length=1, max_length=500)
    description: str = Field(min_length=1, max_length=20_000)
    category: str | None = None
    #: Incidents already known to come from this cause.
    incidents: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class LinkBody(CommandBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ticket_id": "00000000-0000-4000-8000-000000000001"}]}
    )

    ticket_id: uuid.UUID

    def to_command(self, by: str, at: datetime) -> p.ProblemCommand:
        return p.LinkIncident(by=by, at=at, ticket_id=self.ticket_id)


class UnlinkBody(LinkBody):
    def to_command(self, by: str, at: datetime) -> p.ProblemCommand:
        return p.UnlinkIncident(by=by, at=at, ticket_id=self.ticket_id)


class WorkaroundBody(CommandBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "workaround": "Utiliser le bac 2",
                    "known_error": True,
                    "root_cause": "Rouleau d'entraînement usé",
                }
            ]
        }
    )

    workaround: str = Field(min_length=1, max_length=20_000)
    known_error: bool = False
    root_cause: str | None = Field(default=None, max_length=20_000)

    def to_command(self, by: str, at: datetime) -> p.ProblemCommand:
        return p.RecordWorkaround(by=by, at=at, **self.model_dump())


class ResolveBody(CommandBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"resolution": "Rouleaux remplacés sur tout le parc"}]}
    )

    resolution: str = Field(min_length=1, max_length=20_000)

    def to_command(self, by: str, at: datetime) -> p.ProblemCommand:
        return p.ResolveProblem(by=by, at=at, resolution=self.resolution)


def _service(request: Request) -> ProblemService:
    svc: ProblemService = request.app.state.problem_service
    return svc


async def views(
    engine: AsyncEngine, principal: Principal, problems: list[Loaded[p.Problem]]
) -> list[ProblemView]:
    """`problems` as `principal` sees them: their incidents filtered by one query on the ticket
    list's projection, whatever the number of problems."""
    reader, groups = reader_bound(principal)
    incidents = [i for loaded in problems for i in loaded.state.incidents]
    shown = await readable_incidents(engine, incidents, reader, groups)
    return [view(loaded, shown) for loaded in problems]


def view(loaded: Loaded[p.Problem], shown: frozenset[uuid.UUID] | None = None) -> ProblemView:
    """The problem as the caller sees it: its incidents among `shown` (None: all of them)."""
    state = loaded.state
    return ProblemView(
        id=state.id,
        title=state.title,
        description=state.description,
        category=state.category,
        status=state.status.value,
        created_at=state.created_at,
        created_by=state.created_by,
        incidents=[i for i in state.incidents if shown is None or i in shown],
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
    idempotency_key: KeyHeader = None,
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
        # Every incident shown: `create` has just checked that the caller reads each of them.
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
    engine: Engine,
    ticket_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProblemView]:
    svc = _service(request)
    svc.authorize(principal)
    reader, groups = reader_bound(principal)
    if ticket_id is not None and not await readable_incidents(engine, [ticket_id], reader, groups):
        return []  # a ticket one may not read is unknown, as its own routes answer 404
    ids = await problem_ids(engine, ticket_id, limit)
    return await views(engine, principal, [await svc.load(i) for i in ids])


@router.get("/{problem_id}", summary="A problem, rebuilt from its events")
async def get_problem(
    problem_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    engine: Engine,
) -> ProblemView:
    svc = _service(request)
    svc.authorize(principal)
    loaded = await svc.load(problem_id)
    response.headers["ETag"] = f'"{loaded.version}"'
    return (await views(engine, principal, [loaded]))[0]


async def _run(
    request: Request,
    response: Response,
    principal: Principal,
    problem_id: uuid.UUID,
    body: CommandBody,
    if_match: str | None,
    idempotency_key: str | None = None,
) -> ProblemView | JSONResponse:
    engine: AsyncEngine = request.app.state.engine  # the command routes take no dependency
    if validate_key(idempotency_key) is not None:
        return await _run_once(request, principal, problem_id, body, if_match, engine)
    loaded = await _service(request).execute(principal, problem_id, body.to_command, if_match)
    response.headers["ETag"] = f'"{loaded.version}"'
    return (await views(engine, principal, [loaded]))[0]


async def _run_once(
    request: Request,
    principal: Principal,
    problem_id: uuid.UUID,
    body: CommandBody,
    if_match: str | None,
    engine: AsyncEngine,
) -> JSONResponse:
    """The command under its `Idempotency-Key` (scoped to the caller): applied once; a retry
    gets the first answer, `ETag` included. The answer is stored with every incident (it is
    rendered in the append's transaction) and filtered to what the caller reads when sent."""
    keyed = Keyed(
        f"POST /v1/problems/commands:{principal.sub}",
        request.headers[HEADER],
        {"path": request.url.path, "body": body.model_dump(mode="json")},
    )
    stored, _ = await _service(request).execute_once(
        principal,
        problem_id,
        body.to_command,
        if_match,
        keyed,
        lambda loaded: view(loaded).model_dump(mode="json"),
    )
    answer = ProblemView.model_validate(stored.body)
    reader, groups = reader_bound(principal)
    shown = await readable_incidents(engine, answer.incidents, reader, groups)
    answer.incidents = [i for i in answer.incidents if i in shown]
    etag = {"ETag": f'"{answer.version}"'}
    return JSONResponse(answer.model_dump(mode="json"), stored.status_code, headers=etag)


#: `POST /v1/problems/{id}/<name>` -> its body.
COMMANDS = {
    "link": CommandRoute(LinkBody, "Attribute an incident to this problem"),
    "unlink": CommandRoute(UnlinkBody, "Remove an incident linked by mistake"),
    "workaround": CommandRoute(WorkaroundBody, "Record a workaround or a known error"),
    "resolve": CommandRoute(ResolveBody, "The cause is removed"),
}
add_command_routes(
    router,
    resource="problem",
    table=COMMANDS,
    run=_run,
    response_model=ProblemView,
    idempotent=True,
)
