"""One `/v1/kpis` report's peak memory and latency, every ticket read at once (before) against
folded a page at a time (now), at several numbers of tickets in the period, in the same run.

"Before" is `kpi_report`: the same `ReportFold` given one page of every ticket of the period,
read from the database at once, with the recurring incidents grouped in Python; so it holds all
the tickets at once, as the report did before it was paged, and the difference measured is the
paging alone (the rules of the figures are the same code on both sides).

    uv run --frozen --no-sync python -m bench.metrics_report_memory [--sizes 1000,5000,20000]

A throwaway database is filled with ticket facts of the period; each measure runs in a child
process of its own, so that one's high-water mark of RSS does not hide the next's. A first report
over the period's first hours warms the connection and the caches; then the report is timed
(median of three), the process's RSS read from `/proc/self/status` (after the warm-up, then
after the reports), and the report's Python peak measured once more under
`tracemalloc`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from helpdesk_metrics.adapters.queries.facts import FactsQueries
from helpdesk_metrics.adapters.repository import FactsRepository
from helpdesk_metrics.adapters.tables import metadata
from helpdesk_metrics.application.queries import kpis
from helpdesk_metrics.domain.commitments import Filters, Period
from helpdesk_metrics.domain.facts import Status, TicketFacts
from helpdesk_metrics.domain.report import KpiReport
from helpdesk_metrics.domain.report_fold import kpi_report
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.db import create_engine
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

PERIOD = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
#: The warm-up's: the period's first six hours (under 1 % of its tickets).
WARM = Period(PERIOD.start, PERIOD.start + timedelta(hours=6))
AS_OF = PERIOD.end
CALENDAR = BusinessCalendar()


def ticket(n: int) -> TicketFacts:
    """Ticket n of the period: a mix of channels, priorities, lives, departments and assets."""
    received = PERIOD.start + timedelta(minutes=(n * 37) % (30 * 24 * 60))
    taken = received + timedelta(minutes=n % 90) if n % 5 else None
    resolved = received + timedelta(hours=1 + n % 70) if taken and n % 3 else None
    closed = resolved + timedelta(days=1) if resolved and n % 2 else None
    status = Status.CLOSED if closed else Status.RESOLVED if resolved else Status.IN_PROGRESS
    return TicketFacts(
        ticket_id=f"{n:08d}",
        reference=f"INC-2026-{n:06d}",
        type=("incident", "incident", "request", "complaint")[n % 4],
        channel=("web", "email", "phone", "walk_in")[n % 4 - (n % 7 == 0)],
        received_at=received,
        opened_at=received,
        initial_group="desk",
        initial_level=1,
        group=("desk", "desk", "n2")[n % 3],
        level=1 + n % 2,
        status=status if taken else Status.NEW,
        priority=("P1", "P2", "P3", None)[n % 4],
        category=f"c{n % 12}",
        asset_tag=f"PC-{n % 300}" if n % 6 == 0 else None,
        department=f"D{n % 40}",
        admissibility="admissible",
        taken_at=taken,
        first_resolved_at=resolved,
        resolved_at=resolved,
        closed_at=closed,
        escalations=n % 2,
        routings=int(n % 9 == 0),
        sla_breaches=int(n % 11 == 0),
        rating=1 + n % 5 if closed else None,
    )


async def old_report(facts: FactsQueries, period: Period) -> KpiReport:
    """What `kpis` did before: every ticket of the period in Python at once (one page)."""
    tickets = await facts.tickets(period.end, period.relevant_from(AS_OF))
    calls = await facts.calls(period.start, period.end)
    return kpi_report(tickets, calls, period, Filters(), as_of=AS_OF, calendar=CALENDAR)


async def new_report(facts: FactsQueries, period: Period) -> KpiReport:
    return await kpis(
        facts, period, Filters(), as_of=AS_OF, calendar=CALENDAR, recurrence_threshold=3
    )


def rss_kib() -> int:
    """The process's resident set now: the allocators keep what a report freed for the next one,
    so after a report it stands at the report's high-water mark (what the soak saw)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


async def measure(url: str, mode: str) -> dict[str, float]:
    """In the child: warm up on a few tickets, then time, RSS and tracemalloc one report."""
    report: Callable[[FactsQueries, Period], Awaitable[KpiReport]] = (
        old_report if mode == "old" else new_report
    )
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            facts = FactsQueries(conn)
            await report(facts, WARM)
            warm = rss_kib()
            times = []
            for _ in range(3):
                started = time.perf_counter()
                await report(facts, PERIOD)
                times.append(time.perf_counter() - started)
            rss = rss_kib()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            await report(facts, PERIOD)
            peak = tracemalloc.get_traced_memory()[1] - before
            tracemalloc.stop()
    finally:
        await engine.dispose()
    return {
        "ms": statistics.median(times) * 1000,
        "warm_mib": warm / 1024,
        "rss_mib": rss / 1024,
        "peak_mib": peak / 2**20,
    }


def child(url: str, mode: str) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.metrics_report_memory", "--measure", mode, url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=110)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _figures(f: dict[str, float]) -> str:
    return (
        f"{f['peak_mib']:.1f} MiB, {f['rss_mib']:.1f} ({f['warm_mib']:.1f}) MiB, {f['ms']:.0f} ms"
    )


async def run(sizes: list[int]) -> None:
    admin = with_database(CommonSettings().database_url, "postgres")
    name = f"helpdesk_bench_report_{uuid.uuid4().hex[:10]}"
    url = with_database(admin, name)
    await create_database(admin, name)
    try:
        engine = create_engine(url, pool_size=1)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA metrics"))
            await conn.run_sync(metadata.create_all)
        loaded = 0
        print("tickets | before: peak, RSS after (after warm-up), ms | now: the same")
        for size in sizes:
            async with engine.begin() as conn:
                await FactsRepository(conn).save_all([ticket(n) for n in range(loaded, size)])
            loaded = size
            old = await asyncio.to_thread(child, url, "old")
            new = await asyncio.to_thread(child, url, "new")
            print(f"{size:>7,} | {_figures(old)} | {_figures(new)}", flush=True)
        await engine.dispose()
    finally:
        await drop_database(admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description="A report's peak memory, before and now")
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--measure", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("url", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.url, args.measure))))
        return
    asyncio.run(run([int(s) for s in args.sizes.split(",")]))


if __name__ == "__main__":
    main()
