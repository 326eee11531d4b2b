"""`ticket.articles`: one row per article, written in the transaction that appends its events,
and searched in French (`ticket.fr`: french stemming, accents folded), ranked by `ts_rank`.

The row is a pure function of the article's state, so writing it twice changes nothing; a row
never goes back to an older version.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_ticket.application.ports import ArticleFilter, ArticleHit
from helpdesk_ticket.domain.article import Article

_COLUMNS = [
    "article_id",
    "title",
    "symptom",
    "cause",
    "resolution_steps",
    "category",
    "software",
    "hardware",
    "audience",
    "status",
    "content_version",
    "from_tickets",
    "problem_id",
    "suggested",
    "solved",
    "created_at",
    "updated_at",
    "version",
]
_SEARCH = """
    setweight(to_tsvector('ticket.fr', :title), 'A')
    || setweight(to_tsvector('ticket.fr', :symptom), 'A')
    || setweight(to_tsvector('ticket.fr', coalesce(:cause, '')), 'B')
    || setweight(to_tsvector('ticket.fr', :keywords), 'B')
    || setweight(to_tsvector('ticket.fr', :steps), 'C')"""
_UPSERT = text(
    f"""INSERT INTO ticket.articles ({", ".join(_COLUMNS)}, search)
    VALUES ({", ".join(":" + c for c in _COLUMNS)}, {_SEARCH})
    ON CONFLICT (article_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in [*_COLUMNS[1:], "search"])}
    WHERE ticket.articles.version <= excluded.version"""  # noqa: S608 - fixed column names
)


def _row(article: Article) -> dict[str, Any]:
    content = article.content
    return {
        "article_id": article.id,
        "title": content.title,
        "symptom": content.symptom,
        "cause": content.cause,
        "resolution_steps": json.dumps(list(content.resolution_steps)),
        "category": content.category,
        "software": json.dumps(list(content.software)),
        "hardware": json.dumps(list(content.hardware)),
        "audience": content.audience.value,
        "status": article.status.value,
        "content_version": article.content_version,
        "from_tickets": json.dumps([str(t) for t in article.from_tickets]),
        "problem_id": article.problem_id,
        "suggested": article.suggested,
        "solved": len(article.solved),
        "created_at": article.created_at,
        "updated_at": article.versions[-1].at,
        "version": article.version,
        "keywords": " ".join([content.category or "", *content.software, *content.hardware]),
        "steps": "\n".join(content.resolution_steps),
    }


async def project(conn: AsyncConnection, article: Article) -> None:
    """Write the article's row (inside the transaction that appended its events)."""
    await conn.execute(_UPSERT, _row(article))


def _where(f: ArticleFilter) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": f.limit, "offset": f.offset}
    for column in ("category", "status", "audience"):
        value = getattr(f, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if f.q:
        # Any of the words may match (ranked by how many and where): users describe symptoms
        # in their own words, so requiring all of them would miss most scenarios. A query with
        # an exclusion (`-mot`) keeps its AND: "or not x" would match nearly everything.
        clauses.append("search @@ query")
        params["q"] = f.q
    return clauses, params


async def search(engine: AsyncEngine, f: ArticleFilter) -> list[ArticleHit]:
    """Articles matching `f`, best ranked first (newest first without a query)."""
    clauses, params = _where(f)
    query_from = (
        """, (SELECT CASE WHEN strpos(w::text, '!') > 0 THEN w
                ELSE replace(w::text, ' & ', ' | ')::tsquery END AS query
            FROM websearch_to_tsquery('ticket.fr', :q) AS w) AS wanted"""
        if f.q
        else ""
    )
    rank = "ts_rank(search, query)" if f.q else "NULL::real"
    order = "rank DESC, solved DESC, updated_at DESC" if f.q else "updated_at DESC"
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = text(
        f"""SELECT article_id, title, symptom, category, audience, status, content_version,
               suggested, solved, {rank} AS rank
        FROM ticket.articles{query_from} {where}
        ORDER BY {order} LIMIT :limit OFFSET :offset"""  # noqa: S608 - fixed fragments
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sql, params)).all()
    return [ArticleHit(**r._mapping) for r in rows]


async def claim_suggestion(
    conn: AsyncConnection, article_id: uuid.UUID, ticket_id: uuid.UUID
) -> bool:
    """True the first time this article is suggested for this ticket (counted once per ticket)."""
    result = await conn.execute(
        text(
            """INSERT INTO ticket.article_suggestions (article_id, ticket_id)
            VALUES (:a, :t) ON CONFLICT DO NOTHING RETURNING article_id"""
        ),
        {"a": article_id, "t": ticket_id},
    )
    return result.first() is not None


_ARTICLE_STREAMS = text(
    """SELECT stream_id FROM eventstore.events
    WHERE stream_id LIKE 'article-%' AND version = 1 ORDER BY global_position"""
)


async def article_ids(engine: AsyncEngine) -> list[uuid.UUID]:
    """Every article ever drafted, oldest first (for rebuilding `ticket.articles`)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_ARTICLE_STREAMS)).all()
    return [uuid.UUID(r.stream_id.removeprefix("article-")) for r in rows]


class PostgresArticleIndex:
    """The `ArticleIndex` port on `ticket.articles` and `ticket.article_suggestions`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def project(self, conn: AsyncConnection, article: Article) -> None:
        await project(conn, article)

    async def search(self, wanted: ArticleFilter) -> list[ArticleHit]:
        return await search(self.engine, wanted)

    async def claim_suggestion(
        self, conn: AsyncConnection, article_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> bool:
        return await claim_suggestion(conn, article_id, ticket_id)

    async def article_ids(self) -> list[uuid.UUID]:
        return await article_ids(self.engine)
