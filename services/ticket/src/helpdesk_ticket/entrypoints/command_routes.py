"""Command routes from a table: `POST /<resource>s/{id}/<name>` for each command of an aggregate.

Every aggregate's commands are sent the same way: a body that becomes the domain command once the
handler knows the actor and the time, an optional `If-Match`, the new state as the answer. One
table per aggregate (name -> body and summary) generates its routes, so a new command is a line
in the table and a body class, not another route function.

With `idempotent=True` the routes also take an `Idempotency-Key` header, passed to `run` as
`idempotency_key=`: a retried command is then applied once and answered as the first time.

No `from __future__ import annotations` here: FastAPI reads the route functions' annotations,
which name the body type of each command at run time.
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.idempotency import KeyHeader, StoredResponse


class CommandBody(BaseModel):
    """A command's request body; `to_command` adds who sends it and when."""

    model_config = ConfigDict(extra="forbid")

    def to_command(self, by: str, at: datetime) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class CommandRoute:
    body: type[CommandBody]
    summary: str


#: Runs one command: (request, response, principal, aggregate id, body, If-Match) -> the view
#: (and `idempotency_key=` for idempotent routes).
Run = Callable[..., Awaitable[Any]]


def add_command_routes(
    router: APIRouter,
    *,
    resource: str,
    table: Mapping[str, CommandRoute],
    run: Run,
    response_model: type[BaseModel],
    idempotent: bool = False,
) -> None:
    """`POST {router.prefix}/{<resource>_id}/<name>` for each entry of `table`."""
    id_param = f"{resource}_id"
    for name, route in table.items():
        router.add_api_route(
            f"/{{{id_param}}}/{name}",
            _endpoint(route.body, resource, run, idempotent),
            methods=["POST"],
            summary=route.summary,
            response_model=response_model,
            operation_id=f"{resource}_{name.replace('-', '_')}",
        )


def _endpoint(
    body_type: type[CommandBody], resource: str, run: Run, idempotent: bool
) -> Callable[..., Awaitable[BaseModel]]:
    """A route function whose body parameter has the command's own type (for validation and
    OpenAPI); commands without required fields may be sent without a body."""
    aggregate = Annotated[UUID, Path(alias=f"{resource}_id")]
    if_match_header = Annotated[
        str | None,
        Header(description=f"The {resource}'s version as sent in `ETag`; 412 when it moved on."),
    ]
    if any(f.is_required() for f in body_type.model_fields.values()):

        async def with_body(
            aggregate_id: aggregate,
            request: Request,
            response: Response,
            principal: CurrentPrincipal,
            body: Annotated[body_type, Body()],  # type: ignore[valid-type]
            if_match: if_match_header = None,
            idempotency_key: KeyHeader = None,
        ) -> BaseModel:
            keyed = {"idempotency_key": idempotency_key} if idempotent else {}
            answer: BaseModel = await run(
                request, response, principal, aggregate_id, body, if_match, **keyed
            )
            return answer

        return _without_key(with_body) if not idempotent else with_body

    async def optional_body(
        aggregate_id: aggregate,
        request: Request,
        response: Response,
        principal: CurrentPrincipal,
        body: Annotated[body_type | None, Body()] = None,  # type: ignore[valid-type]
        if_match: if_match_header = None,
        idempotency_key: KeyHeader = None,
    ) -> BaseModel:
        payload = body if body is not None else body_type()
        keyed = {"idempotency_key": idempotency_key} if idempotent else {}
        answer: BaseModel = await run(
            request, response, principal, aggregate_id, payload, if_match, **keyed
        )
        return answer

    return _without_key(optional_body) if not idempotent else optional_body


def _without_key(
    endpoint: Callable[..., Awaitable[BaseModel]],
) -> Callable[..., Awaitable[BaseModel]]:
    """The endpoint without its `Idempotency-Key` parameter (a route that does not honour the
    header must not declare it)."""
    signature = inspect.signature(endpoint)
    parameters = [p for name, p in signature.parameters.items() if name != "idempotency_key"]
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return endpoint


def stored_answer(stored: StoredResponse) -> JSONResponse:
    """An answer kept with its `Idempotency-Key`, as first given: status, body, `ETag` (the
    body's `version`) and `Location`."""
    headers = {"ETag": f'"{stored.body["version"]}"'} if "version" in stored.body else {}
    if stored.location:
        headers["Location"] = stored.location
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
