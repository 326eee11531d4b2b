"""Events of the `article` stream category (knowledge base: resolution scenarios).

An article (`article-<uuid>`) is owned by the ticket service. Each edit is a new version of the
content (`ArticleDrafted` is version 1, each `ArticleRevised` the next one), so the history of the
scenario stays readable; publication, retirement and usage are facts about the article, not
versions of its content.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from helpdesk_shared.events.base import DomainEvent


class Audience(StrEnum):
    """Who may read the article once published."""

    AGENTS = "agents"  # the desk's own scenarios
    PUBLIC = "public"  # published to the users as a FAQ entry


class ArticleContent(BaseModel):
    """One version of a resolution scenario: what the user sees, why, and how to fix it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    symptom: str
    cause: str | None = None
    resolution_steps: tuple[str, ...] = ()
    category: str | None = None
    software: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    audience: Audience = Audience.AGENTS


class ArticleEvent(DomainEvent):
    """Common fields of every article event."""

    abstract: ClassVar[bool] = True
    stream_category: ClassVar[str] = "article"

    article_id: uuid.UUID
    occurred_at: datetime
    by: str


class ArticleDrafted(ArticleEvent):
    """A new scenario is written (version 1), possibly from resolved tickets or a problem."""

    content: ArticleContent
    from_tickets: tuple[uuid.UUID, ...] = ()
    problem_id: uuid.UUID | None = None


class ArticleRevised(ArticleEvent):
    """The content changed: a new version, the previous ones stay in the history."""

    content_version: int
    content: ArticleContent
    note: str | None = None


class ArticlePublished(ArticleEvent):
    """The current version is offered to its audience (and to the suggestions)."""

    content_version: int


class ArticleRetired(ArticleEvent):
    """The scenario is obsolete: no longer suggested nor listed."""

    reason: str | None = None


class ArticleSuggested(ArticleEvent):
    """The article was offered for a ticket (at intake or on the ticket's detail)."""

    ticket_id: uuid.UUID | None = None
    context: str = "ticket"


class ArticleUsedInResolution(ArticleEvent):
    """A ticket was resolved with this article."""

    ticket_id: uuid.UUID
