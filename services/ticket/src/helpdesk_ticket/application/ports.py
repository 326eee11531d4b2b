"""The ticket service's ports besides the event store: the knowledge base's search index (on
PostgreSQL in `adapters.article_search`, in memory in `adapters.memory` for handler tests) and the
claims of recurring-incident groups (`adapters.recurring_groups`)."""

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


class RecurringGroups(Protocol):
    """One problem per group of recurring incidents, and tickets found by their reference."""

    async def existing(self, category: str, key: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The group's (problem, article), if it has them."""
        ...

    async def claim(
        self,
        conn: Connection,
        category: str,
        key: str,
        problem_id: uuid.UUID,
        article_id: uuid.UUID,
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        """Claim the group in the unit of work; None when claimed, else who holds it."""
        ...

    async def ticket_ids(self, references: list[str]) -> dict[str, uuid.UUID]:
        """The ids of the tickets with these references (unknown ones are left out)."""
        ...
