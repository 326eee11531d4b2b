"""`python -m helpdesk_metrics.entrypoints.cli <tool>`: the metrics service's command-line tools.

    replay   rebuild every figure from the event store, from scratch

Every service keeps its tools here, as sub-commands of one argparse parser: `--help` answers
without touching anything.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from helpdesk_metrics.application.projection import ReplayResult, replay
from helpdesk_metrics.bootstrap import projection_on
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.progress import ProgressLine


async def rebuild(settings: Settings) -> ReplayResult:
    """Every figure again from the store; safe while the service runs: the rebuild is one
    transaction, live handlers wait for it."""
    engine = create_engine(
        settings.database_url,
        pool_size=1,
        application_name="metrics-replay",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    try:
        with _rare_collections():
            async with projection_on(engine).begin() as unit:
                progress = ProgressLine("metrics replay", "events read")
                return await replay(unit, settings.business_calendar(), progress=progress)
    finally:
        await engine.dispose()


#: Allocations between two young collections during a rebuild (Python's default is 700).
_REBUILD_GC_THRESHOLD = 50_000


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the rebuild's time.

    A rebuild allocates a few objects per event (rows, bodies, records), most of them gone by the
    next page, and keeps one set of facts per ticket until the end: at the default cadence the
    collector ran hundreds of times per 100,000 events, scanning that growing set, a quarter of
    the rebuild's time. Nothing is left uncollected: the cadence is restored at the end.
    """
    before = gc.get_threshold()
    gc.set_threshold(_REBUILD_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def parser() -> argparse.ArgumentParser:
    tools = argparse.ArgumentParser(
        prog="python -m helpdesk_metrics.entrypoints.cli",
        description="The metrics service's tools.",
    )
    commands = tools.add_subparsers(dest="tool", required=True, metavar="TOOL")
    commands.add_parser(
        "replay",
        help="rebuild every figure from the event store, from scratch",
        description="Rebuild every figure from the event store, from scratch, in one "
        "transaction. Safe while the service runs: live handlers wait for it.",
    )
    return tools


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.tool == "replay":
        started = time.perf_counter()
        result = asyncio.run(rebuild(Settings()))
        elapsed = time.perf_counter() - started
        print(
            f"metrics rebuilt from {result.events_read} events "
            f"({result.events_kept} kept): {result.tickets} tickets, {result.calls} calls "
            f"in {elapsed:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
