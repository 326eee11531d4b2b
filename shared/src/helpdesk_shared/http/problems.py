"""RFC 9457 problem details: every error any service answers has this shape."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Literal

import asyncpg.exceptions
import asyncpg.exceptions._base
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

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


#: Problem titles, French (the desk's language, the default) then English, by problem type;
#: problems of type `about:blank` are looked up by their French title, then by status.
TITLES_BY_TYPE: dict[str, tuple[str, str]] = {
    VALIDATION: ("Données invalides", "Invalid input"),
    "urn:helpdesk:problem:beyond-coverage": (
        "Hors de la couverture du contrat",
        "Beyond the contract's coverage",
    ),
    "urn:helpdesk:problem:call-already-recorded": (
        "Appel déjà enregistré",
        "Call already recorded",
    ),
    "urn:helpdesk:problem:concurrency-conflict": ("Conflit de version", "Version conflict"),
    "urn:helpdesk:problem:contract-change-refused": ("Modification refusée", "Change refused"),
    "urn:helpdesk:problem:contract-not-overwritten": ("Modification refusée", "Change refused"),
    "urn:helpdesk:problem:group-has-problem": ("Problème déjà ouvert", "Problem already open"),
    "urn:helpdesk:problem:idempotency-key-reused": (
        "Clé d'idempotence réutilisée",
        "Idempotency key reused",
    ),
    "urn:helpdesk:problem:not-own-request": ("Accès refusé", "Forbidden"),
    "urn:helpdesk:problem:payload-too-large": (
        "Requête trop volumineuse",
        "Request body too large",
    ),
    "urn:helpdesk:problem:precondition-failed": ("Version périmée", "Stale version"),
    "urn:helpdesk:problem:rate-limited": ("Trop de demandes", "Too many requests"),
    "urn:helpdesk:problem:transition-not-allowed": ("Transition refusée", "Transition not allowed"),
    "urn:helpdesk:problem:dependency-unavailable": (
        "Service momentanément indisponible",
        "Service temporarily unavailable",
    ),
    "urn:helpdesk:problem:identity-provider-unavailable": (
        "Fournisseur d'identité indisponible",
        "Identity provider unavailable",
    ),
}
TITLES_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("Requête invalide", "Bad request"),
    401: ("Authentification requise", "Authentication required"),
    403: ("Accès refusé", "Forbidden"),
    404: ("Introuvable", "Not found"),
    405: ("Méthode non permise", "Method not allowed"),
    406: ("Format non disponible", "Not acceptable"),
    409: ("Conflit", "Conflict"),
    412: ("Version périmée", "Precondition failed"),
    413: ("Requête trop volumineuse", "Request body too large"),
    415: ("Type de contenu non pris en charge", "Unsupported media type"),
    422: ("Données invalides", "Invalid input"),
    428: ("Version requise", "Precondition required"),
    429: ("Trop de demandes", "Too many requests"),
    500: ("Erreur interne", "Internal error"),
    503: ("Service indisponible", "Service unavailable"),
}
_OTHER_TITLES = {
    "Jeton invalide": "Invalid token",
    "Consommateur inconnu": "Unknown consumer",
}
_ENGLISH_BY_FRENCH = {
    **dict(TITLES_BY_STATUS.values()),
    **dict(TITLES_BY_TYPE.values()),
    **_OTHER_TITLES,
}
Language = Literal["fr", "en"]


def preferred_language(accept_language: str | None) -> Language:
    """French unless the client prefers English (RFC 9110 `Accept-Language`, q-values read):
    `en-GB,en;q=0.9,fr;q=0.5` is English, `fr-FR,en;q=0.8` or nothing is French."""
    best: tuple[float, Language] = (0.0, "fr")
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("fr", "en"):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > best[0]:
            best = (quality, "fr" if primary == "fr" else "en")
    return best[1]


def localized_title(problem: Problem, language: Language) -> str:
    """The problem's title in `language`: as raised in French; in English from the catalogue."""
    if language == "fr":
        return problem.title
    by_type = TITLES_BY_TYPE.get(problem.type)
    if by_type is not None:
        return by_type[1]
    english = _ENGLISH_BY_FRENCH.get(problem.title)
    if english is not None:
        return english
    return TITLES_BY_STATUS.get(problem.status, ("", _phrase(problem.status)))[1]


def problem_json(problem: Problem, path: str, accept_language: str | None) -> JSONResponse:
    """The problem as answered, its title in the client's language (`Content-Language` says
    which). Middlewares, which have no `Request`, answer through this too."""
    language = preferred_language(accept_language)
    body = problem.body(instance=path)
    body["title"] = localized_title(problem, language)
    headers = {**(problem.headers or {}), "Content-Language": language}
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def scope_header(scope: Scope, name: bytes) -> str | None:
    """A request header read from an ASGI scope (for middlewares)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    return problem_json(problem, request.url.path, request.headers.get("accept-language"))


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
        title = TITLES_BY_STATUS.get(exc.status_code, (_phrase(exc.status_code), ""))[0]
        problem = Problem(exc.status_code, title, str(exc.detail), headers=headers)
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


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
