"""`POST /v1/problems/from-recurring`: a group of recurring incidents (a metrics problem
candidate) becomes a problem linking them and a draft article, in one call."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_ticket.application.recurring import RecurringGroup, RecurringIncidents
from helpdesk_ticket.entrypoints import article_views, http_problems

router = APIRouter(prefix="/v1/problems", tags=["problems"])


class RecurringBody(BaseModel):
    """The candidate as `/v1/kpis` lists it in `problem_candidates` (references or ids)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "printers",
                    "scope": "Lycée Victor Hugo",
                    "key": "printers|Lycée Victor Hugo",
                    "references": ["INC-2026-000012", "INC-2026-000015", "INC-2026-000021"],
                }
            ]
        },
        extra="ignore",
    )  # the candidate is sent as metrics gives it

    category: str = Field(min_length=1, max_length=80)
    scope: Literal["asset", "department"]
    key: str = Field(min_length=1, max_length=200)
    references: list[str] = Field(default_factory=list, max_length=500)
    ticket_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class ProblemAndArticle(BaseModel):
    problem: http_problems.ProblemView
    article: article_views.ArticleView


class ExistingProblem(BaseModel):
    problem_id: uuid.UUID | None
    article_id: uuid.UUID | None


def _service(request: Request) -> RecurringIncidents:
    svc: RecurringIncidents = request.app.state.recurring_incidents
    return svc


def _group(body: RecurringBody) -> RecurringGroup:
    return RecurringGroup(
        category=body.category,
        scope=body.scope,
        key=body.key,
        references=tuple(body.references),
        ticket_ids=tuple(body.ticket_ids),
    )


@router.post(
    "/from-recurring",
    status_code=201,
    summary="Open the problem and a draft article of a group of recurring incidents "
    "(409 naming the problem when the group already has one)",
)
async def from_recurring(
    body: RecurringBody, request: Request, response: Response, principal: CurrentPrincipal
) -> ProblemAndArticle:
    made = await _service(request).open_problem(principal, _group(body))
    response.headers["Location"] = f"/v1/problems/{made.problem.state.id}"
    return ProblemAndArticle(
        problem=http_problems.view(made.problem), article=article_views.view(made.article)
    )


@router.get("/recurring", summary="The problem a group of recurring incidents already has, if any")
async def recurring_group(
    request: Request,
    principal: CurrentPrincipal,
    category: Annotated[str, Query(min_length=1)],
    scope: Literal["asset", "department"],
    key: Annotated[str, Query(min_length=1)],
) -> ExistingProblem:
    svc = _service(request)
    svc.problems.authorize(principal)
    found = await svc.existing(RecurringGroup(category=category, scope=scope, key=key))
    return ExistingProblem(
        problem_id=found[0] if found else None, article_id=found[1] if found else None
    )
