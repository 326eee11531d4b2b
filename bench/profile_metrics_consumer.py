"""`python -m bench.profile_metrics_consumer [--events 10000] [--batch 100]`: the metrics
consumer's batch transaction without the broker, beside the same transaction with an empty
handler.

`bench.consumers`' rates swing by half from one run to the next on a shared machine (the broker,
PostgreSQL and the consumer share two cores with whatever else runs), which hides a handler's
own cost. Here the toolkit's `apply_batch` (inbox check, handler, multi-row claim, commit) runs
on batches of `--batch` fresh ticket events, one batch after another, once with the metrics
consumer's real batch handler and once with an empty one, in one process on one scratch
database. Printed for each: events/s, wall and process CPU per event, and the statements per
batch with their mean time (a statement's time is its round trip plus the server's work: the
part of the wall time the process waits). Run it from two checkouts, alternately, to compare
commits: the CPU and statement figures barely move with the neighbours' load, the rates do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.consumers import recorded, scratch
from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.entrypoints.consumer import consumer_handlers
from helpdesk_metrics.settings import Settings as MetricsSettings
from helpdesk_shared.messaging.batches import BatchHandler, apply_batch
from helpdesk_shared.messaging.envelope import ReceivedEvent


class Statements:
    """Counts and times the statements an engine runs (SQLAlchemy's cursor events)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: dict[int, float] = {}

    def before(self, *args: Any) -> None:
        self._started[id(args[4])] = time.perf_counter()

    def after(self, *args: Any) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop(id(args[4]))


def received(count: int) -> list[ReceivedEvent]:
    """`count` ticket events (five per ticket) as the consumer would parse them."""
    return [
        ReceivedEvent(
            *(e.event_id, e.type, e.stream_id, e.version, e.global_position, e.recorded_at),
            *(e.schema_version, e.data, {}),
        )
        for e in recorded(count)
    ]


async def _nothing(events: Sequence[ReceivedEvent], conn: AsyncConnection) -> None:
    """The empty handler: the toolkit's own statements only."""


async def measure(events_count: int, batch: int) -> list[str]:
    """One line per handler: the batches of fresh events, one after another."""
    events = received(events_count)
    calendar = MetricsSettings().business_calendar()
    lines = []
    async with scratch() as place:
        statements = Statements()
        event.listen(place.engine.sync_engine, "before_cursor_execute", statements.before)
        event.listen(place.engine.sync_engine, "after_cursor_execute", statements.after)
        _, metrics = consumer_handlers(PostgresProjection(place.engine).within, calendar)
        handlers: list[tuple[str, BatchHandler]] = [("empty", _nothing), ("metrics", metrics)]
        for name, handler in handlers:
            statements.count, statements.seconds = 0, 0.0
            wall, cpu = time.perf_counter(), time.process_time()
            for start in range(0, events_count, batch):
                # each handler claims under its own consumer name: every event is fresh to it
                await apply_batch(place.engine, name, events[start : start + batch], handler)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            batches = -(-events_count // batch)
            lines.append(
                f"{name:8s} {events_count / wall:8,.0f} events/s,"
                f" wall {wall * 1e6 / events_count:5.0f} us/event,"
                f" CPU {cpu * 1e6 / events_count:5.0f} us/event,"
                f" {statements.count / batches:.1f} statements/batch"
                f" at {statements.seconds * 1000 / max(statements.count, 1):.2f} ms each"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    for line in asyncio.run(measure(args.events, args.batch)):
        print(line)
    print(f"load average (1 min) at the start {load:.1f}, at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
