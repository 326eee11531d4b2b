"""RFC 9457 problem details: every error any service answers has this shape."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import asyncpg.exceptions
import asyncpg.exceptions._base
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from helpdesk_shared.eventstore.model import ConcurrencyConflict

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """Raise from a route or dependency to answer with problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.headers = headers
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


#: Where a request's field is: its JSON body, or a query, path or header parameter.
Where = Literal["body", "query", "path", "header"]
VALIDATION = "urn:helpdesk:problem:validation"


def field_error(
    where: Where, path: Sequence[str | int], message: str, kind: str = "value"
) -> dict[str, Any]:
    """One entry of a validation problem's `errors`: the field (dotted), where it was
    (`body.requester.email`), a JSON pointer into the body (RFC 9457 section 3: `#/requester/email`)
    or the parameter's name, and what is wrong with it."""
    entry: dict[str, Any] = {
        "field": ".".join(str(p) for p in path),
        "location": ".".join([where, *(str(p) for p in path)]),
        "message": message,
        "type": kind,
    }
    if where == "body":
        escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
        entry["pointer"] = "#/" + "/".join(escaped)
    else:
        entry["parameter"] = str(path[0]) if path else ""
    return entry


def invalid_input(
    errors: list[dict[str, Any]], detail: str | None = None, **extensions: Any
) -> Problem:
    """The 422 of invalid input, naming every field at fault (the shape of every service's)."""
    fields = ", ".join(e["field"] or e["location"] for e in errors)
    return Problem(
        422,
        "Données invalides",
        detail or f"Invalid input: {fields}",
        type_=VALIDATION,
        errors=errors,
        **extensions,
    )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(
        problem.body(instance=request.url.path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error to problem details; nothing answers 200 on a failure."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [_from_pydantic(err) for err in exc.errors()]
        return problem_response(invalid_input(errors), request)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = getattr(exc, "headers", None)
        problem = Problem(
            exc.status_code, _title(exc.status_code), str(exc.detail), headers=headers
        )
        return problem_response(problem, request)

    async def on_conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConcurrencyConflict)
        named: dict[str, Any] = {} if exc.allowed is None else {"allowed": exc.allowed}
        problem = Problem(
            409,
            "Conflit de version",
            str(exc),
            type_="urn:helpdesk:problem:concurrency-conflict",
            **named,
        )
        return problem_response(problem, request)

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if refused_as_data(exc):
            problem = Problem(
                422,
                "Données invalides",
                "The database refused a value of this request (for example a NUL character or "
                "a number out of range).",
                type_=VALIDATION,
            )
            return problem_response(problem, request)
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem(500, "Erreur interne", "An unexpected error occurred; it was logged.")
        return problem_response(problem, request)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(ConcurrencyConflict, on_conflict)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)


def _from_pydantic(err: Any) -> dict[str, Any]:
    """A FastAPI validation error as an `errors` entry: `loc` starts with where the field was."""
    loc = tuple(err.get("loc", ()))
    places: tuple[Where, ...] = ("body", "query", "path", "header")
    where: Where = "body"
    for place in places:
        if loc and loc[0] == place:
            where, loc = place, loc[1:]
    return field_error(where, loc, err.get("msg", ""), err.get("type", ""))


def refused_as_data(exc: BaseException) -> bool:
    """Whether PostgreSQL (or the driver) refused a value the caller sent: a NUL character,
    an untranslatable character, a number out of range (SQLSTATE class 22 or asyncpg's
    argument check). That is the caller's error (422), not the server's (500)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, (asyncpg.exceptions.DataError, asyncpg.exceptions._base.DataError)):
            return True
        if isinstance(seen, UnicodeEncodeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
