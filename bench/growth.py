"""`python -m bench.growth [--quick]`: how each path's cost grows with the size of the history.

One throwaway database grows step by step (10,000 -> 100,000 -> 1,000,000 events of realistic
tickets, `bench.growth_data`); after each step the ticket list is brought up to date by the
ticket service's own projection (its catch-up subscription) and the metrics by the metrics
service's own rebuild, then every path is timed at that size (`bench.growth_paths`). Each path
is either meant to stay flat (its work does not depend on the history: a command on one ticket,
a page of the list, a page of the log, the relay at the tail) or to grow no faster than its
work (a rebuild reads everything; a year's indicators cover as many tickets as the year has).

The figures are plotted to `docs/performance-growth.png` (or `$BENCH_GROWTH_PLOT`), and each
path's largest size against its smallest is a row of `make bench`'s summary table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench import growth_data, publish
from bench.growth_paths import PATHS, TAIL_TICKETS, Measured, measure_all
from bench.summary import SummaryRow, load_during
from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database
from helpdesk_ticket.adapters.projection import SUBSCRIPTION_NAME
from helpdesk_ticket.settings import Settings as TicketSettings

#: Events in the store at each step (full run) and in the smoke run.
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 3_000)
DEFAULT_PLOT = Path(__file__).resolve().parent.parent / "docs" / "performance-growth.png"
#: A flat path may cost this much more at the largest size than at the smallest (noise, a
#: B-tree one level deeper); a path that grows with its work, this much more than the growth.
FLAT_SLACK, LINEAR_SLACK = 2.0, 1.5
_EVENTS_PER_TICKET = 8.67


@dataclass(frozen=True)
class Step:
    """The figures of every path at one size of the history."""

    events: int
    tickets: int
    measured: Measured
    load: float
    seconds: float


def plot_path() -> Path:
    return Path(os.environ.get("BENCH_GROWTH_PLOT", str(DEFAULT_PLOT)))


async def grow(
    database_url: str, amqp_url: str, sizes: Sequence[int], budget: float = 15.0
) -> list[Step]:
    """Grow one throwaway database through `sizes`, measuring at each; dropped at the end."""
    run_id = uuid.uuid4().hex[:10]
    admin = with_database(database_url, "postgres")
    database = f"helpdesk_bench_growth_{run_id}"
    url = with_database(database_url, database)
    exchange, prefix = f"helpdesk.bench-growth-{run_id}", f"bench-growth-{run_id}"
    await create_database(admin, database)
    steps: list[Step] = []
    try:
        await asyncio.to_thread(upgrade_all, url)
        tickets = 0
        for size in sizes:
            started = time.perf_counter()
            with load_during() as load:
                more = max(0, round((size - await _stored(url)) / _EVENTS_PER_TICKET))
                tickets = await _fill(url, tickets, more)
                measured = await measure_all(url, amqp_url, exchange, prefix, tickets, budget)
                tickets += measured.tickets_added
            steps.append(
                Step(
                    await _stored(url), tickets, measured, load.mean, time.perf_counter() - started
                )
            )
            print(_line(steps[-1]), flush=True)
    finally:
        await publish.remove_topology(amqp_url, exchange, prefix)
        await drop_database(admin, database)
    return steps


async def _fill(url: str, tickets: int, more: int) -> int:
    """`more` tickets after the first `tickets`; the ticket count after them.

    All but the last `TAIL_TICKETS` come with their ticket list rows (computed by the list
    projection's own code, `growth_data.fill`) and the list's checkpoint moves past them; the
    last ones are left to the list's subscription, whose catch-up is then timed on them.
    """
    dsn = asyncpg_dsn(url)
    bulk = max(0, more - TAIL_TICKETS)
    policy = TicketSettings(database_url=url).policy()
    await growth_data.fill(dsn, tickets, bulk, policy)
    await publish.wait_readable(dsn)
    await publish.move_checkpoint(dsn, SUBSCRIPTION_NAME, await publish.end_of_log(dsn))
    await growth_data.fill(dsn, tickets + bulk, more - bulk)
    return tickets + more


async def _stored(url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM eventstore.events"))
    finally:
        await conn.close()


def _line(step: Step) -> str:
    figures = ", ".join(f"{name} {ms:,.1f} ms" for name, ms in step.measured.ms.items())
    return f"{step.events:,} events, {step.tickets:,} tickets ({step.seconds:.0f} s): {figures}"


def rows(steps: Sequence[Step]) -> list[SummaryRow]:
    """Each path at the largest size beside the same path at the smallest."""
    first, last = steps[0], steps[-1]
    growth = last.events / first.events
    out = []
    for path in PATHS:
        slack = FLAT_SLACK if path.flat else LINEAR_SLACK * growth
        small, large = first.measured.ms[path.name], last.measured.ms[path.name]
        goal = "flat" if path.flat else "no faster than its work"
        failed = [f"{s.events:,}: {s.measured.failures[path.name]}" for s in steps
                  if path.name in s.measured.failures]  # fmt: skip
        if failed:
            goal += f" (failed at {'; '.join(failed)})"
        out.append(
            SummaryRow(
                path=f"growth: {path.name}, {last.events:,} events",
                figure=large,
                unit="ms",
                baseline=small,
                baseline_label=f"at {first.events:,} events",
                goal=f"{goal}: <= {slack:.3g}x the smallest",
                met=not failed and large <= slack * small,
                load=sum(step.load for step in steps) / len(steps),
                rounds=last.measured.rounds[path.name],
            )
        )
    return out


def plot(steps: Sequence[Step], path: Path) -> None:
    """One line per path, milliseconds against events stored, both axes logarithmic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 6))
    events = [step.events for step in steps]
    colours = plt.get_cmap("tab20")
    for index, measured in enumerate(PATHS):
        style = "-" if measured.flat else "--"
        values = [step.measured.ms[measured.name] for step in steps]
        axes.plot(events, values, style, marker="o", color=colours(index), label=measured.name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("events in the store (log)")
    axes.set_ylabel("ms (log)")
    axes.set_title("Cost against the size of the history (solid: meant flat; dashed: linear)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


async def summary_rows(quick: bool) -> list[SummaryRow]:
    settings = CommonSettings()
    sizes = QUICK_SIZES if quick else _sizes_from_env()
    steps = await grow(settings.database_url, settings.amqp_url, sizes, 1.0 if quick else 15.0)
    plot(steps, plot_path())
    return rows(steps)


def _sizes_from_env() -> tuple[int, ...]:
    """`BENCH_GROWTH_SIZES=10000,100000` runs fewer steps than the full three."""
    raw = os.environ.get("BENCH_GROWTH_SIZES")
    return tuple(int(part) for part in raw.split(",")) if raw else FULL_SIZES


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 then 3,000 events")
    args = parser.parse_args(argv)
    for row in asyncio.run(summary_rows(args.quick)):
        print(f"{row.path}: {row.figure:,.1f} ms vs {row.baseline:,.1f} ms {row.baseline_label}")
    print(f"plot: {plot_path()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
