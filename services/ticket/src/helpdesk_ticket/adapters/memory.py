"""In-memory adapters of the ticket service's ports, for handler tests that need no database
(the event store's is `helpdesk_shared.eventstore.memory`)."""

from __future__ import annotations

import uuid

from helpdesk_shared.kernel import Connection
from helpdesk_ticket.application.ports import ArticleFilter, ArticleHit
from helpdesk_ticket.domain.article import Article


class MemoryArticleIndex:
    """`ArticleIndex` in a dict. A query matches articles whose title or symptom shares a word
    with it (no stemming, no ranking: PostgreSQL's French search is tested on PostgreSQL)."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Article] = {}
        self.suggested: set[tuple[uuid.UUID, uuid.UUID]] = set()

    async def project(self, conn: Connection, article: Article) -> None:
        known = self.rows.get(article.id)
        if known is None or known.version <= article.version:
            self.rows[article.id] = article

    async def search(self, wanted: ArticleFilter) -> list[ArticleHit]:
        words = set((wanted.q or "").lower().split())
        hits = [
            _hit(a)
            for a in reversed(list(self.rows.values()))
            if _matches(a, wanted) and (not words or words & _words(a))
        ]
        return hits[wanted.offset : wanted.offset + wanted.limit]

    async def claim_suggestion(
        self, conn: Connection, article_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> bool:
        if (article_id, ticket_id) in self.suggested:
            return False
        self.suggested.add((article_id, ticket_id))
        return True

    async def article_ids(self) -> list[uuid.UUID]:
        return list(self.rows)


def _words(article: Article) -> set[str]:
    return set(f"{article.content.title} {article.content.symptom}".lower().split())


def _matches(article: Article, wanted: ArticleFilter) -> bool:
    return (
        wanted.category in (None, article.content.category)
        and wanted.status in (None, article.status.value)
        and wanted.audience in (None, article.content.audience.value)
    )


def _hit(article: Article) -> ArticleHit:
    return ArticleHit(
        article_id=article.id,
        title=article.content.title,
        symptom=article.content.symptom,
        category=article.content.category,
        audience=article.content.audience.value,
        status=article.status.value,
        content_version=article.content_version,
        suggested=article.suggested,
        solved=len(article.solved),
        rank=None,
    )


class MemoryRecurringGroups:
    """`RecurringGroups` in dicts: one (problem, article) per group, tickets known by reference.
    A claim is kept at once (the in-memory store has no rollback either)."""

    def __init__(self, references: dict[str, uuid.UUID] | None = None) -> None:
        self.references = dict(references or {})
        self.claims: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]] = {}

    async def existing(self, category: str, key: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        return self.claims.get((category, key))

    async def claim(
        self,
        conn: Connection,
        category: str,
        key: str,
        problem_id: uuid.UUID,
        article_id: uuid.UUID,
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        holder = self.claims.setdefault((category, key), (problem_id, article_id))
        return None if holder == (problem_id, article_id) else holder

    async def ticket_ids(self, references: list[str]) -> dict[str, uuid.UUID]:
        return {r: self.references[r] for r in references if r in self.references}
