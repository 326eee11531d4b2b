"""Domain and application refusals as RFC 9457 problem details."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from helpdesk_shared.http.problems import Problem, field_error, invalid_input, problem_response
from helpdesk_shared.kernel import PreconditionFailed
from helpdesk_ticket.application.errors import Forbidden, GroupHasProblem
from helpdesk_ticket.domain.errors import (
    ArticleNotFound,
    BeyondCoverage,
    InvalidCommand,
    ProblemNotFound,
    TicketNotFound,
    TransitionNotAllowed,
)


def to_problem(error: Exception) -> Problem:
    if isinstance(error, TicketNotFound):
        return Problem(404, "Ticket introuvable", str(error))
    if isinstance(error, ProblemNotFound):
        return Problem(404, "Problème introuvable", str(error))
    if isinstance(error, ArticleNotFound):
        return Problem(404, "Article introuvable", str(error))
    if isinstance(error, GroupHasProblem):
        return Problem(
            409,
            "Problème déjà ouvert",
            str(error),
            type_="urn:helpdesk:problem:group-has-problem",
            problem_id=str(error.problem_id),
            article_id=str(error.article_id),
        )
    if isinstance(error, BeyondCoverage):
        return Problem(
            409,
            "Hors de la couverture du contrat",
            str(error),
            type_="urn:helpdesk:problem:beyond-coverage",
            command=error.command,
            status_now=error.status,
            allowed=error.allowed,
            coverage_limit=error.up_to_level,
            coverage_item=error.item,
        )
    if isinstance(error, TransitionNotAllowed):
        return Problem(
            409,
            "Transition refusée",
            str(error),
            type_="urn:helpdesk:problem:transition-not-allowed",
            command=error.command,
            status_now=error.status,
            allowed=error.allowed,
        )
    if isinstance(error, InvalidCommand):
        return invalid_input([field_error("body", [error.field], error.message)], str(error))
    if isinstance(error, PreconditionFailed):
        return Problem(
            412,
            "Version périmée",
            str(error),
            type_="urn:helpdesk:problem:precondition-failed",
            headers={"ETag": f'"{error.actual}"'},
            current_version=error.actual,
        )
    if isinstance(error, Forbidden):
        return Problem(403, "Accès refusé", str(error))
    raise error


def install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(to_problem(exc), request)

    for error in (
        TicketNotFound,
        ProblemNotFound,
        ArticleNotFound,
        GroupHasProblem,
        TransitionNotAllowed,
        InvalidCommand,
        PreconditionFailed,
        Forbidden,
    ):
        app.add_exception_handler(error, handle)
