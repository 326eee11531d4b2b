"""`python -m bench.ticket.projection_catch_up`: the list projection's CPU per event, caught up.

A scratch database of `--tickets` tickets (default 1,000), each opened and then given `--comments`
comments (default 4), appended before the projection starts; then one `catch_up()` of the list
projection (`build_components`, in process, no HTTP) over the whole log, timed: process CPU and
wall time per event. On this shared machine, compare runs of two commits alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from bench.ticket.cycles import _comment
from bench.ticket.support import SECRET, open_tickets, scratch_database
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.application.tickets import ticket_stream
from helpdesk_ticket.bootstrap import build_components
from helpdesk_ticket.settings import Settings


async def run(tickets: int, comments: int) -> None:
    async with scratch_database() as url:
        engine = create_engine(url, pool_size=10)
        store = EventStore(engine)
        ids = await open_tickets(store, tickets)
        for version in range(1, comments + 1):
            for start in range(0, tickets, 50):
                await asyncio.gather(
                    *(
                        store.append(ticket_stream(t), version, [_comment(t, version)])
                        for t in ids[start : start + 50]
                    )
                )
        settings = Settings(
            database_url=url, helpdesk_jwt_secret=SECRET, ticket_background_tasks=False
        )
        parts = build_components(settings, engine=engine)
        # The public holidays' package is imported at the first holiday looked up: not timed.
        parts.projector.policy.calendar.is_holiday(datetime.now(UTC).date())
        cpu, wall = time.process_time(), time.perf_counter()
        handled = await parts.projection.catch_up()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await engine.dispose()
    per = 1e6 / max(handled, 1)
    print(f"{handled} events: CPU {cpu * per:.0f} us per event, wall {wall * per:.0f} us per event")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.tickets, args.comments))
