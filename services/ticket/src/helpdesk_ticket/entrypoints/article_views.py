"""What the API answers about an article: its current content, versions and usage counts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from helpdesk_shared.events.article import ArticleContent
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.application.ports import ArticleHit
from helpdesk_ticket.domain import article as a


class VersionView(BaseModel):
    number: int
    by: str
    at: datetime
    note: str | None
    content: ArticleContent


class ArticleView(BaseModel):
    id: uuid.UUID
    status: str
    title: str
    symptom: str
    cause: str | None
    resolution_steps: list[str]
    category: str | None
    software: list[str]
    hardware: list[str]
    audience: str
    content_version: int
    published_version: int | None
    published_at: datetime | None
    from_tickets: list[uuid.UUID]
    problem_id: uuid.UUID | None
    suggested: int
    solved: int
    created_at: datetime
    created_by: str
    versions: list[VersionView]
    version: int
    allowed_commands: list[str]


class ArticleSummary(BaseModel):
    id: uuid.UUID
    title: str
    symptom: str
    category: str | None
    audience: str
    status: str
    content_version: int
    suggested: int
    solved: int
    rank: float | None


def summary(hit: ArticleHit) -> ArticleSummary:
    return ArticleSummary(
        id=hit.article_id, **{k: v for k, v in vars(hit).items() if k != "article_id"}
    )


def view(loaded: Loaded[a.Article], *, staff: bool = True) -> ArticleView:
    """The article with its versions (for staff; a requester sees the current content only)."""
    art = loaded.state
    content = art.content
    versions = [
        VersionView(number=v.number, by=v.by, at=v.at, note=v.note, content=v.content)
        for v in art.versions
    ]
    return ArticleView(
        id=art.id,
        status=art.status.value,
        title=content.title,
        symptom=content.symptom,
        cause=content.cause,
        resolution_steps=list(content.resolution_steps),
        category=content.category,
        software=list(content.software),
        hardware=list(content.hardware),
        audience=content.audience.value,
        content_version=art.content_version,
        published_version=art.published_version,
        published_at=art.published_at,
        from_tickets=list(art.from_tickets) if staff else [],
        problem_id=art.problem_id if staff else None,
        suggested=art.suggested,
        solved=len(art.solved),
        created_at=art.created_at,
        created_by=art.created_by,
        versions=versions if staff else [],
        version=loaded.version,
        allowed_commands=a.allowed_article_commands(art) if staff else [],
    )
