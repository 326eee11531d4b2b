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

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.idempotency import HEADER, KEY_DESCRIPTION, StoredResponse


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
    headers = [header_parameter("if-match", _if_match_description(resource))]
    if idempotent:
        headers.append(header_parameter(HEADER, KEY_DESCRIPTION))
    for name, route in table.items():
        router.add_api_route(
            f"/{{{id_param}}}/{name}",
            _endpoint(route.body, resource, run, idempotent),
            methods=["POST"],
            summary=route.summary,
            response_model=response_model,
            operation_id=f"{resource}_{name.replace('-', '_')}",
            openapi_extra={"parameters": headers},
        )


def _if_match_description(resource: str) -> str:
    return f"The {resource}'s version as sent in `ETag`; 412 when it moved on."


def header_parameter(name: str, description: str) -> dict[str, Any]:
    """An optional string header as FastAPI documents a `str | None` `Header` parameter.

    The command routes read `If-Match` and `Idempotency-Key` from the request themselves rather
    than as `Header` parameters: FastAPI's solving of two optional headers took about 22 of the
    57 us of a command's dependency solving (the principal, the id, the headers, the body),
    though any value of either is valid. The OpenAPI document still lists them, as before
    (`test_command_routes_headers.py` compares with the `Header` parameters)."""
    schema = {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": description,
        "title": name.title(),
    }
    return {
        "description": description,
        "in": "header",
        "name": name,
        "required": False,
        "schema": schema,
    }


def _endpoint(
    body_type: type[CommandBody], resource: str, run: Run, idempotent: bool
) -> Callable[..., Awaitable[BaseModel]]:
    """A route function whose body parameter has the command's own type (for validation and
    OpenAPI); commands without required fields may be sent without a body. `If-Match` and
    (idempotent routes) `Idempotency-Key` are read from the request: the first value of each,
    or None, as a `str | None` `Header` parameter gives them."""
    aggregate = Annotated[UUID, Path(alias=f"{resource}_id")]

    async def send(
        request: Request, response: Response, principal: Any, aggregate_id: UUID, body: Any
    ) -> BaseModel:
        headers = request.headers
        keyed = {"idempotency_key": headers.get(HEADER)} if idempotent else {}
        answer: BaseModel = await run(
            request, response, principal, aggregate_id, body, headers.get("if-match"), **keyed
        )
        return answer

    if any(f.is_required() for f in body_type.model_fields.values()):

        async def with_body(
            aggregate_id: aggregate,
            request: Request,
            response: Response,
            principal: CurrentPrincipal,
            body: Annotated[body_type, Body()],  # type: ignore[valid-type]
        ) -> BaseModel:
            return await send(request, response, principal, aggregate_id, body)

        return with_body

    async def optional_body(
        aggregate_id: aggregate,
        request: Request,
        response: Response,
        principal: CurrentPrincipal,
        body: Annotated[body_type | None, Body()] = None,  # type: ignore[valid-type]
    ) -> BaseModel:
        payload = body if body is not None else body_type()
        return await send(request, response, principal, aggregate_id, payload)

    return optional_body


def stored_answer(stored: StoredResponse) -> JSONResponse:
    """An answer kept with its `Idempotency-Key`, as first given: status, body, `ETag` (the
    body's `version`) and `Location`."""
    headers = {"ETag": f'"{stored.body["version"]}"'} if "version" in stored.body else {}
    if stored.location:
        headers["Location"] = stored.location
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
