"""`python -m helpdesk_metrics.replay`: rebuild every figure from the event store from scratch.

Safe while the service runs: the rebuild is one transaction; live handlers wait for it.
"""

from __future__ import annotations

import asyncio
import time

from helpdesk_metrics.application.projection import ReplayResult, replay
from helpdesk_metrics.bootstrap import projection_on
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import create_engine


async def rebuild(settings: Settings) -> ReplayResult:
    engine = create_engine(settings.database_url, pool_size=1, application_name="metrics-replay")
    try:
        async with projection_on(engine).begin() as unit:
            return await replay(unit, settings.business_hours())
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
