"""`/v1/articles`: the knowledge base (resolution scenarios), its French search and FAQ."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.auth import CurrentPrincipal, Principal
from helpdesk_shared.events.article import Audience
from helpdesk_shared.http.idempotency import HEADER, KeyHeader, validate_key
from helpdesk_shared.http.openapi import problem_responses
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.keyed import Keyed
from helpdesk_ticket.application.ports import ArticleFilter
from helpdesk_ticket.domain import article as a
from helpdesk_ticket.entrypoints.article_bodies import (
    ContentBody,
    DraftFromTicketBody,
    PublishBody,
    RetireBody,
    ReviseBody,
    SuggestBody,
)
from helpdesk_ticket.entrypoints.article_views import ArticleSummary, ArticleView, summary, view
from helpdesk_ticket.entrypoints.command_routes import (
    CommandBody,
    CommandRoute,
    add_command_routes,
    stored_answer,
)

router = APIRouter(prefix="/v1/articles", tags=["articles"])
drafting = APIRouter(prefix="/v1/tickets", tags=["articles"])


class CreateBody(ContentBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Bourrage papier sur HP LaserJet",
                    "symptom": "L'imprimante affiche « bourrage papier »",
                    "cause": "Rouleau d'entraînement encrassé",
                    "resolution_steps": [
                        "Ouvrir le capot",
                        "Retirer la feuille",
                        "Nettoyer le rouleau",
                    ],
                    "category": "printers",
                    "audience": "public",
                }
            ]
        }
    )

    #: Resolved tickets this scenario comes from.
    from_tickets: list[uuid.UUID] = Field(default_factory=list, max_length=500)


def _service(request: Request) -> ArticleService:
    svc: ArticleService = request.app.state.article_service
    return svc


def _tagged(response: Response, loaded: Loaded[a.Article]) -> ArticleView:
    response.headers["ETag"] = f'"{loaded.version}"'
    return view(loaded)


@router.post(
    "",
    status_code=201,
    summary="Draft an article (`from_tickets`: its sources)",
    response_model=ArticleView,
    responses=problem_responses(404),  # a source ticket that does not exist
)
async def create_article(
    body: CreateBody,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    idempotency_key: KeyHeader = None,
) -> ArticleView | JSONResponse:
    svc = _service(request)
    for ticket_id in body.from_tickets:
        await svc.tickets.read(principal, ticket_id)  # 404 on an unknown source
    command = a.DraftArticle(
        by=principal.sub,
        at=svc.clock(),
        article_id=uuid.uuid4(),
        content=body.content(),
        from_tickets=tuple(body.from_tickets),
    )
    keyed = Keyed(f"POST /v1/articles:{principal.sub}", idempotency_key, _sent(body))
    return await _draft(request, response, principal, command, keyed)


@drafting.post(
    "/{ticket_id}/draft-article",
    status_code=201,
    summary="Draft an article from a resolved ticket (prefilled from its description and solution)",
    response_model=ArticleView,
)
async def draft_from_ticket(
    ticket_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    body: DraftFromTicketBody | None = None,
    idempotency_key: KeyHeader = None,
) -> ArticleView | JSONResponse:
    svc = _service(request)
    sent = body or DraftFromTicketBody()
    command = await svc.from_ticket(principal, ticket_id, sent.audience)
    scope = f"POST /v1/tickets/draft-article:{principal.sub}"
    keyed = Keyed(scope, idempotency_key, {"path": request.url.path, "body": _sent(sent)})
    return await _draft(request, response, principal, command, keyed)


async def _draft(
    request: Request,
    response: Response,
    principal: Principal,
    command: a.DraftArticle,
    keyed: Keyed,
) -> ArticleView | JSONResponse:
    """Both ways to draft: once per `Idempotency-Key` (the first answer kept), or, without a
    key, the article's view with its `ETag` and `Location`."""
    svc = _service(request)
    if validate_key(keyed.key) is not None:
        return stored_answer(await svc.draft_once(principal, command, keyed, _render))
    loaded = await svc.draft(principal, command)
    response.headers["Location"] = f"/v1/articles/{loaded.state.id}"
    return _tagged(response, loaded)


def _sent(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json")


def _render(loaded: Loaded[a.Article]) -> dict[str, Any]:
    """The answer stored with an `Idempotency-Key` (articles are the staff's: their view)."""
    return view(loaded).model_dump(mode="json")


@router.get("", summary="Articles; `q` searches in French (ranked), filters by category")
async def list_articles(
    request: Request,
    principal: CurrentPrincipal,
    q: Annotated[str | None, Query(max_length=500)] = None,
    category: str | None = None,
    status: a.ArticleStatus | None = None,
    audience: Audience | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ArticleSummary]:
    wanted = ArticleFilter(
        q=q or None,
        category=category,
        status=status.value if status else None,
        audience=audience.value if audience else None,
        limit=limit,
        offset=offset,
    )
    if not principal.is_staff:  # requesters read the FAQ only
        wanted = ArticleFilter(**{**vars(wanted), "status": "published", "audience": "public"})
    hits = await _service(request).index.search(wanted)
    return [summary(h) for h in hits]


@router.get("/faq", summary="The FAQ: published articles for the users (any signed-in caller)")
async def faq(
    request: Request,
    principal: CurrentPrincipal,
    q: Annotated[str | None, Query(max_length=500)] = None,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ArticleSummary]:
    wanted = ArticleFilter(q or None, category, "published", "public", limit, offset)
    return [summary(h) for h in await _service(request).index.search(wanted)]


@router.post("/suggestions", summary="Best-matching published articles for a request's text")
async def suggestions(
    body: SuggestBody, request: Request, principal: CurrentPrincipal
) -> list[ArticleSummary]:
    """Counted as suggested once per ticket when `ticket_id` is given (intake calls this)."""
    hits = await _service(request).suggest(
        principal,
        body.text,
        category=body.category,
        ticket_id=body.ticket_id,
        context=body.context,
        limit=body.limit,
    )
    return [summary(h) for h in hits]


@router.get("/{article_id}", summary="An article with its versions, rebuilt from its events")
async def get_article(
    article_id: uuid.UUID, request: Request, response: Response, principal: CurrentPrincipal
) -> ArticleView:
    loaded = await _service(request).read(principal, article_id)
    response.headers["ETag"] = f'"{loaded.version}"'
    return view(loaded, staff=principal.is_staff)


async def _run(
    request: Request,
    response: Response,
    principal: Principal,
    article_id: uuid.UUID,
    body: CommandBody,
    if_match: str | None,
    idempotency_key: str | None = None,
) -> ArticleView | JSONResponse:
    svc = _service(request)
    if validate_key(idempotency_key) is None:
        loaded = await svc.execute(principal, article_id, body.to_command, if_match)
        return _tagged(response, loaded)
    keyed = Keyed(
        f"POST /v1/articles/commands:{principal.sub}",
        request.headers[HEADER],
        {"path": request.url.path, "body": _sent(body)},
    )
    stored, _ = await svc.execute_once(
        principal, article_id, body.to_command, if_match, keyed, _render
    )
    return stored_answer(stored)


#: `POST /v1/articles/{id}/<name>` -> its body.
COMMANDS = {
    "revise": CommandRoute(ReviseBody, "A new version of the content"),
    "publish": CommandRoute(PublishBody, "Offer the current version to its audience"),
    "retire": CommandRoute(RetireBody, "Withdraw an obsolete article (history kept)"),
}
add_command_routes(
    router,
    resource="article",
    table=COMMANDS,
    run=_run,
    response_model=ArticleView,
    idempotent=True,
)
