"""`python -m helpdesk_ticket.entrypoints.cli <tool>`: the ticket service's command-line tools.

    rebuild   rebuild the ticket list from the whole log, and the knowledge base's search rows
              from the article streams

Every service keeps its tools here, as sub-commands of one argparse parser: `--help` answers
without touching anything.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from helpdesk_shared.progress import ProgressLine
from helpdesk_ticket.adapters.article_search import PostgresArticleIndex
from helpdesk_ticket.adapters.projection import rebuild_list
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.bootstrap import build_components
from helpdesk_ticket.settings import Settings


async def rebuild(settings: Settings) -> str:
    """Rebuild the list and the article index; the line to print."""
    parts = build_components(settings)
    try:
        progress = ProgressLine("ticket list rebuild")
        events = await rebuild_list(parts.engine, parts.projection, progress)
        index = PostgresArticleIndex(parts.engine)
        articles = ArticleService(parts.tickets.store, parts.tickets, index, parts.tickets.clock)
        indexed = await articles.rebuild_index()
    finally:
        await parts.engine.dispose()
    return f"ticket list rebuilt from {events} events, {indexed} articles re-indexed"


def parser() -> argparse.ArgumentParser:
    tools = argparse.ArgumentParser(
        prog="python -m helpdesk_ticket.entrypoints.cli", description="The ticket service's tools."
    )
    commands = tools.add_subparsers(dest="tool", required=True, metavar="TOOL")
    commands.add_parser(
        "rebuild",
        help="rebuild the ticket list and the article search index from the log",
        description="Rebuild the ticket list from the whole log, and the knowledge base's "
        "search rows from the article streams. Safe while the service runs.",
    )
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.tool == "rebuild":
        print(asyncio.run(rebuild(Settings())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
