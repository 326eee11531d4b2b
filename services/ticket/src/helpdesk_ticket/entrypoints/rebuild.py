"""`python -m helpdesk_ticket.entrypoints.rebuild`: rebuild the ticket list from the whole log."""

from __future__ import annotations

import asyncio

from helpdesk_ticket.adapters.projection import rebuild_list
from helpdesk_ticket.bootstrap import build_components
from helpdesk_ticket.settings import Settings


async def _rebuild() -> int:
    parts = build_components(Settings())
    try:
        return await rebuild_list(parts.engine, parts.projection)
    finally:
        await parts.engine.dispose()


def main() -> None:
    print(f"ticket list rebuilt from {asyncio.run(_rebuild())} events")


if __name__ == "__main__":
    main()
