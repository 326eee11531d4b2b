"""The metrics service's row of `make bench`: a full rebuild beside `read_all` alone.

`bench.bench_metrics`'s rebuild measurement: ticket events written into a scratch store, the
service's own rebuild (`helpdesk_metrics.entrypoints.cli.rebuild`) timed beside `read_all`
reading the same log and doing nothing with it. The metrics consumer's rows (throughput and
lag through the relay and RabbitMQ) come with the consumer toolkit's, from `bench.consumers`.
"""

from __future__ import annotations

import asyncio
import uuid

from bench.bench_metrics import REBUILD_GOAL, measure_rebuild
from bench.summary import SummaryRow, load_during
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database


async def summary_rows(quick: bool) -> list[SummaryRow]:
    events = 5_000 if quick else 100_000
    admin = with_database(CommonSettings().database_url, "postgres")
    name = f"helpdesk_bench_metrics_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    try:
        url = with_database(admin, name)
        await asyncio.to_thread(upgrade_all, url)
        with load_during() as load:
            rate, read_rate = await measure_rebuild(url, events)
    finally:
        await drop_database(admin, name)
    return [
        SummaryRow(
            path=f"metrics rebuild, {events:,} events",
            figure=rate,
            unit="events/s",
            baseline=read_rate,
            baseline_label="`read_all` alone over the same log",
            goal=f">= {REBUILD_GOAL:,.0f} events/s",
            met=rate >= REBUILD_GOAL,
            load=load.mean,
            rounds=1,
        )
    ]
