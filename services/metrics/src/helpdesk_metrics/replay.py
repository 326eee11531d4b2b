"""`python -m helpdesk_metrics.replay`: rebuild every figure from the event store from scratch.

Safe while the service runs: the rebuild is one transaction; live handlers wait for it.
"""

from __future__ import annotations

import asyncio
import time

from helpdesk_metrics.application.projection import ReplayResult, replay
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore


async def rebuild(settings: Settings) -> ReplayResult:
    engine = create_engine(settings.database_url, pool_size=1, application_name="metrics-replay")
    try:
        async with engine.begin() as conn:
            return await replay(EventStore(engine), conn, settings.business_calendar())
    finally:
        await engine.dispose()


def main() -> None:
    started = time.perf_counter()
    result = asyncio.run(rebuild(Settings()))
    elapsed = time.perf_counter() - started
    print(
        f"metrics rebuilt from {result.events_read} events "
        f"({result.events_kept} kept): {result.tickets} tickets, {result.calls} calls "
        f"in {elapsed:.2f} s"
    )


if __name__ == "__main__":
    main()
