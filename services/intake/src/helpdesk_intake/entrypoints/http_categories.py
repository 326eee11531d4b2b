"""`GET /v1/categories`: the shared catalogue of support domains, read-only.

Front ends build the category list of their forms from it; the same codes are accepted by
`POST /v1/requests` and by the ticket service's `qualify`, and counted by the KPIs.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from helpdesk_shared import catalogue
from helpdesk_shared.auth import CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["categories"])


class CategoryOut(BaseModel):
    code: str
    label: str
    #: The support group that handles it by default (`desk` for the level-1 domains).
    group: str
    level_one: bool


class Categories(BaseModel):
    items: list[CategoryOut]
    #: Older codes still read as the catalogue's (events recorded with them keep their meaning).
    aliases: dict[str, str]


@router.get("/categories", response_model=Categories, summary="The catalogue of categories")
async def list_categories(principal: CurrentPrincipal) -> Categories:
    return Categories(
        items=[
            CategoryOut(code=c.code, label=c.label, group=c.group, level_one=c.level_one)
            for c in catalogue.CATEGORIES
        ],
        aliases=dict(catalogue.ALIASES),
    )
