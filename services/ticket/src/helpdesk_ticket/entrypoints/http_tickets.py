"""`/v1/tickets/{id}`: the ticket rebuilt from its stream, its history and its commands."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.idempotency import HEADER, validate_key
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.keyed import Keyed
from helpdesk_ticket.application.tickets import TicketService, visible_to
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.entrypoints.bodies import COMMAND_BODIES, ResolveBody
from helpdesk_ticket.entrypoints.bodies import Body as TicketBody
from helpdesk_ticket.entrypoints.command_routes import CommandRoute, add_command_routes
from helpdesk_ticket.entrypoints.views import (
    HistoryEntry,
    SuggestedArticle,
    TicketView,
    history_entry,
    ticket_view,
)

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


def service(request: Request) -> TicketService:
    svc: TicketService = request.app.state.ticket_service
    return svc


def _answer(
    request: Request, response: Response, principal: CurrentPrincipal, loaded: Loaded[Ticket]
) -> TicketView:
    svc = service(request)
    response.headers["ETag"] = f'"{loaded.version}"'
    allowed = svc.allowed_for(principal, loaded.state)
    return ticket_view(
        loaded.state,
        loaded.version,
        allowed,
        svc.policy,
        svc.clock(),
        staff=principal.is_staff,
    )


@router.get("/{ticket_id}", summary="The ticket, rebuilt from its events")
async def get_ticket(
    ticket_id: UUID,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    as_of: Annotated[AwareDatetime | None, Query(description="The state as it was then")] = None,
) -> TicketView:
    loaded = await service(request).read(principal, ticket_id, as_of)
    answer = _answer(request, response, principal, loaded)
    if as_of is None and loaded.state.closed_at is None:
        answer.suggested_articles = await _suggestions(request, principal, loaded)
    return answer


async def _suggestions(
    request: Request, principal: CurrentPrincipal, loaded: Loaded[Ticket]
) -> list[SuggestedArticle]:
    """The best-matching published articles, counted as suggested once for this ticket."""
    ticket = loaded.state
    articles: ArticleService = request.app.state.article_service
    hits = await articles.suggest(
        principal,
        f"{ticket.subject} {ticket.description}",
        category=ticket.category,
        ticket_id=ticket.id,
    )
    return [
        SuggestedArticle(
            id=h.article_id,
            title=h.title,
            category=h.category,
            audience=h.audience,
            solved=h.solved,
            rank=h.rank,
        )
        for h in hits
    ]


@router.get("/{ticket_id}/history", summary="The ticket's events, readable")
async def get_history(
    ticket_id: UUID, request: Request, principal: CurrentPrincipal
) -> list[HistoryEntry]:
    loaded = await service(request).read(principal, ticket_id, with_events=True)
    return [history_entry(e) for e in loaded.events if visible_to(principal, e)]


async def _run(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    ticket_id: UUID,
    payload: TicketBody,
    if_match: str | None,
    idempotency_key: str | None = None,
) -> TicketView | JSONResponse:
    article_id = payload.article_id if isinstance(payload, ResolveBody) else None
    articles: ArticleService = request.app.state.article_service
    if article_id is not None:
        await articles.check_usable(article_id)
    correlation = request.headers.get("x-correlation-id")
    if validate_key(idempotency_key) is not None:
        return await _run_once(request, principal, ticket_id, payload, if_match, correlation)
    loaded = await service(request).execute(
        principal, ticket_id, payload.to_command, if_match=if_match, correlation_id=correlation
    )
    if article_id is not None:  # the article knows how many tickets it solved
        await articles.record_resolution(principal, article_id, ticket_id)
    return _answer(request, response, principal, loaded)


async def _run_once(
    request: Request,
    principal: CurrentPrincipal,
    ticket_id: UUID,
    payload: TicketBody,
    if_match: str | None,
    correlation: str | None,
) -> JSONResponse:
    """The command under its `Idempotency-Key` (scoped to the caller): applied once; a retry
    gets the first answer, `ETag` included."""
    keyed = Keyed(
        f"POST /v1/tickets/commands:{principal.sub}",
        request.headers[HEADER],
        {"path": request.url.path, "body": payload.model_dump(mode="json")},
    )

    def render(loaded: Loaded[Ticket]) -> dict[str, Any]:
        view = _answer(request, Response(), principal, loaded)
        return view.model_dump(mode="json")

    stored, ran = await service(request).execute_once(
        principal, ticket_id, payload.to_command, keyed, render, if_match, correlation
    )
    article_id = payload.article_id if isinstance(payload, ResolveBody) else None
    if ran and article_id is not None:
        articles: ArticleService = request.app.state.article_service
        await articles.record_resolution(principal, article_id, ticket_id)
    etag = {"ETag": f'"{stored.body["version"]}"'} if "version" in stored.body else {}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=etag)


add_command_routes(
    router,
    resource="ticket",
    table={name: CommandRoute(body, f"Command: {name}") for name, body in COMMAND_BODIES.items()},
    run=_run,
    response_model=TicketView,
    idempotent=True,
)
