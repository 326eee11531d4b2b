"""What every intake route shares: the engine and store, role checks, the body size limit.

The parts the bootstrap wired reach the routes through `from_state` dependencies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk_intake.application.ports import (
    ArticleSuggestions,
    IntakeUnit,
    IntakeUnits,
    OpeningUnits,
)
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import Principal, Role, require_roles
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.dependencies import from_state
from helpdesk_shared.http.problems import (
    Problem,
    field_error,
    invalid_input,
    problem_json,
    scope_header,
)

STAFF = (Role.AGENT, Role.MANAGER, Role.ADMIN)


Store = Annotated[EventStore, from_state("event_store")]
#: Intake's units of work, each in a transaction of its own (wired by `bootstrap`).
Units = Annotated[IntakeUnits, from_state("intake_units")]
#: A unit of work in a transaction the route opened (with its `Idempotency-Key` claim).
UnitWithin = Annotated[Callable[[AsyncConnection], IntakeUnit], from_state("intake_unit_within")]
#: The units a request's opening runs in: without a transaction when it can (`OpeningUnits`).
Openings = Annotated[OpeningUnits, from_state("intake_openings")]
IntakeSettings = Annotated[Settings, from_state("settings")]
#: The knowledge base's suggestions for a new request (the ticket service, over HTTP).
Knowledge = Annotated[ArticleSuggestions, from_state("knowledge_base")]
#: The openings allowed inside their transaction at once (`intake_openings_in_flight`).
OpeningSlots = Annotated[asyncio.Semaphore, from_state("opening_slots")]
StaffPrincipal = Annotated[Principal, Depends(require_roles(*STAFF))]
ManagerPrincipal = Annotated[Principal, Depends(require_roles(Role.MANAGER, Role.ADMIN))]


def invalid(field: str, message: str) -> Problem:
    """A 422 problem naming the field at fault, shaped like FastAPI's own validation errors."""
    return invalid_input(
        [field_error("body", [field], message)], f"Invalid input: {field}: {message}"
    )


def not_found(what: str) -> Problem:
    return Problem(404, "Introuvable", f"No such {what}.")


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        "Requête trop volumineuse",
        f"The request body exceeds the limit of {limit} bytes.",
        type_="urn:helpdesk:problem:payload-too-large",
        limit_bytes=limit,
    )


class BodySizeLimit:
    """Refuse bodies over the limit with 413 before they are read whole.

    A declared Content-Length over the limit is refused at once; a chunked body is counted as it
    arrives and refused when it goes over (the route sees a `Problem`, turned into 413).
    """

    def __init__(self, app: ASGIApp, default_limit: int, limits: dict[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = _problem_response(too_large(limit), scope)
            await response(scope, receive, send)
            return
        received = 0
        exceeded = False
        answered = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large(limit)
            return message

        async def guarded(message: Message) -> None:
            # Whatever the app makes of the interrupted body (FastAPI says 400), answer 413.
            nonlocal answered
            if not exceeded:
                await send(message)
            elif not answered:
                answered = True
                response = _problem_response(too_large(limit), scope)
                await response(scope, receive, send)

        await self.app(scope, counted, guarded)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _problem_response(problem: Problem, scope: Scope) -> JSONResponse:
    return problem_json(problem, scope["path"], scope_header(scope, b"accept-language"))
