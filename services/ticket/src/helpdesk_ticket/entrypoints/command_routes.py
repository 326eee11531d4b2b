"""Command routes from a table: `POST /<resource>s/{id}/<name>` for each command of an aggregate.

Every aggregate's commands are sent the same way: a body that becomes the domain command once the
handler knows the actor and the time, an optional `If-Match`, the new state as the answer. One
table per aggregate (name -> body and summary) generates its routes, so a new command is a line
in the table and a body class, not another route function.

No `from __future__ import annotations` here: FastAPI reads the route functions' annotations,
which name the body type of each command at run time.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Header, Path, Request, Response
from pydantic import BaseModel, ConfigDict

from helpdesk_shared.auth import CurrentPrincipal, Principal


class CommandBody(BaseModel):
    """A command's request body; `to_command` adds who sends it and when."""

    model_config = ConfigDict(extra="forbid")

    def to_command(self, by: str, at: datetime) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class CommandRoute:
    body: type[CommandBody]
    summary: str


#: Runs one command: (request, response, principal, aggregate id, body, If-Match) -> the view.
Run = Callable[[Request, Response, Principal, UUID, Any, str | None], Awaitable[BaseModel]]


def add_command_routes(
    router: APIRouter,
    *,
    resource: str,
    table: Mapping[str, CommandRoute],
    run: Run,
    response_model: type[BaseModel],
) -> None:
    """`POST {router.prefix}/{<resource>_id}/<name>` for each entry of `table`."""
    id_param = f"{resource}_id"
    for name, route in table.items():
        router.add_api_route(
            f"/{{{id_param}}}/{name}",
            _endpoint(route.body, resource, run),
            methods=["POST"],
            summary=route.summary,
            response_model=response_model,
            operation_id=f"{resource}_{name.replace('-', '_')}",
        )


def _endpoint(
    body_type: type[CommandBody], resource: str, run: Run
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
        ) -> BaseModel:
            return await run(request, response, principal, aggregate_id, body, if_match)

        return with_body

    async def optional_body(
        aggregate_id: aggregate,
        request: Request,
        response: Response,
        principal: CurrentPrincipal,
        body: Annotated[body_type | None, Body()] = None,  # type: ignore[valid-type]
        if_match: if_match_header = None,
    ) -> BaseModel:
        payload = body if body is not None else body_type()
        return await run(request, response, principal, aggregate_id, payload, if_match)

    return optional_body
