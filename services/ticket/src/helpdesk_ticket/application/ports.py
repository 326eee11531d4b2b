"""The ticket service's ports besides the event store: what the article handlers need from the
knowledge base's search index. PostgreSQL implements it (`adapters.article_search`), memory too
(`adapters.memory`, for handler tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from helpdesk_shared.kernel import Connection
from helpdesk_ticket.domain.article import Article


@dataclass(frozen=True)
class ArticleFilter:
    """What a search or a listing asks for."""

    q: str | None = None
    category: str | None = None
    status: str | None = None
    audience: str | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class ArticleHit:
    article_id: uuid.UUID
    title: str
    symptom: str
    category: str | None
    audience: str
    status: str
    content_version: int
    suggested: int
    solved: int
    rank: float | None


class ArticleIndex(Protocol):
    """One searchable row per article, written with the events that changed it."""

    async def project(self, conn: Connection, article: Article) -> None:
        """Write the article's row in the unit of work that appended its events."""
        ...

    async def search(self, wanted: ArticleFilter) -> list[ArticleHit]:
        """Articles matching `wanted`, best ranked first (newest first without a query)."""
        ...

    async def claim_suggestion(
        self, conn: Connection, article_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> bool:
        """True the first time this article is suggested for this ticket."""
        ...

    async def article_ids(self) -> list[uuid.UUID]:
        """Every article ever drafted, oldest first (to rebuild the index)."""
        ...
