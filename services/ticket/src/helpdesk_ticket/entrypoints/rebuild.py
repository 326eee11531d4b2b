"""`python -m helpdesk_ticket.entrypoints.rebuild`: rebuild the ticket list from the whole log,
and the knowledge base's search rows from the article streams."""

from __future__ import annotations

import asyncio

from helpdesk_ticket.adapters.article_search import PostgresArticleIndex
from helpdesk_ticket.adapters.projection import rebuild_list
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.bootstrap import build_components
from helpdesk_ticket.settings import Settings


async def _rebuild() -> tuple[int, int]:
    parts = build_components(Settings())
    try:
        events = await rebuild_list(parts.engine, parts.projection)
        index = PostgresArticleIndex(parts.engine)
        articles = ArticleService(parts.tickets.store, parts.tickets, index, parts.tickets.clock)
        return events, await articles.rebuild_index()
    finally:
        await parts.engine.dispose()


def main() -> None:
    events, articles = asyncio.run(_rebuild())
    print(f"ticket list rebuilt from {events} events, {articles} articles re-indexed")


if __name__ == "__main__":
    main()
