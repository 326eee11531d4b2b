"""The metrics service's rates: a full rebuild, the consumer's throughput and its lag.

- `rebuild`: `--rebuild-events` ticket events (five per ticket) written straight into a scratch
  event store, then `python -m helpdesk_metrics.entrypoints.cli replay`'s rebuild timed.
  Goal: >= 20,000 events/s.
- `throughput`: `--flood-events` events appended first, then the relay publishes them and the
  metrics consumer (the shared toolkit with the service's handler) folds them: events/s from the
  first handled to the last.
- `lag`: events appended at `--rate` per second while the relay and the consumer run; for each,
  the time from its append's commit to the end of its handler (the consumer's commit follows at
  once). Goal: p99 < 250 ms at 200 events/s.

Baselines, in the same run: the rebuild beside `read_all` reading the same log and doing nothing
with it; the consumer and the lag beside the same relay and toolkit with an empty handler.

Run: `uv run --frozen python -m bench.bench_metrics [--quick]` (PostgreSQL and RabbitMQ from
`DATABASE_URL` and `AMQP_URL`, else localhost; the scratch database, exchange and queues are
removed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.entrypoints.cli import rebuild
from helpdesk_metrics.entrypoints.consumer import consumer_handlers
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

REBUILD_GOAL = 20_000.0
LAG_P99_GOAL_MS = 250.0
START = datetime(2026, 3, 2, 8, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    rebuild_events: int
    flood_events: int
    rate: float
    lag_seconds: float


def ticket_events(n: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(stream id, type, body) of ticket n's five events: open, qualify, take, resolve, close."""
    ticket_id = str(uuid.UUID(int=n + 1))
    at = START + timedelta(seconds=n)

    def body(minutes: float, **data: Any) -> dict[str, Any]:
        moment = (at + timedelta(minutes=minutes)).isoformat()
        return {"ticket_id": ticket_id, "occurred_at": moment, **data}

    stream = f"ticket-{ticket_id}"
    yield (
        stream,
        "TicketOpened",
        body(
            0,
            reference=f"INC-{n:07d}",
            type="incident",
            channel=("web", "email", "phone")[n % 3],
            requester={"login": f"u{n % 500}", "name": "U", "department": f"D{n % 40}"},
            subject="s",
            description="d",
            category=f"c{n % 12}",
            asset_tag=f"A{n % 900}",
            pre_qualification={"outcome": "admissible", "reasons": []},
            received_at=at.isoformat(),
        ),
    )
    yield (
        stream,
        "TicketQualified",
        body(
            1,
            type="incident",
            category=f"c{n % 12}",
            impact="low",
            urgency="low",
            priority="P3",
            by="a",
        ),
    )
    yield stream, "TicketTaken", body(5 + n % 40, agent="a", group="desk", level=1, by="a")
    yield (
        stream,
        "TicketResolved",
        body(
            60,
            solution="x",
            resolution_code="fixed",
            first_contact=True,
            level=1,
            group="desk",
            by="a",
        ),
    )
    yield stream, "Closed", body(70, code="resolved", by="a")


def events(count: int) -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    n = 0
    while len(out) < count:
        out.extend(ticket_events(n))
        n += 1
    return out[:count]


async def measure_rebuild(url: str, count: int) -> tuple[float, float]:
    """(rebuild events/s, baseline events/s) over `count` stored events.

    The baseline reads the same log through `EventStore.read_all` in the replay's pages and does
    nothing with it: the floor under any rebuild, so the ratio shows what folding and writing
    the facts add to it.
    """
    rows = [
        (stream, version, uuid.uuid4(), type_, json.dumps(data))
        for version_stream in _numbered(events(count))
        for stream, version, type_, data in [version_stream]
    ]
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.executemany(
            "INSERT INTO eventstore.events (stream_id, version, event_id, type, schema_version,"
            " data, metadata) VALUES ($1, $2, $3, $4, 1, $5::jsonb, '{}'::jsonb)",
            rows,
        )
    finally:
        await conn.close()
    await _until_visible(url, count)
    read_rate = await _read_rate(url, count)
    started = time.perf_counter()
    result = await rebuild(Settings(database_url=url))
    elapsed = time.perf_counter() - started
    assert result.events_read == count, result
    return count / elapsed, read_rate


async def _read_rate(url: str, count: int, page_size: int = 5000) -> float:
    engine = create_engine(url, pool_size=1, application_name="bench-metrics-read")
    try:
        store = EventStore(engine)
        started = time.perf_counter()
        read, after = 0, None
        async with engine.connect() as conn:
            while page := await store.read_all(after, limit=page_size, conn=conn):
                read, after = read + len(page), page[-1].log_position
        assert read == count, read
        return count / (time.perf_counter() - started)
    finally:
        await engine.dispose()


def _numbered(
    items: list[tuple[str, str, dict[str, Any]]],
) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    versions: dict[str, int] = {}
    for stream, type_, data in items:
        versions[stream] = versions.get(stream, 0) + 1
        yield stream, versions[stream], type_, data


async def _until_visible(url: str, count: int) -> None:
    """The log shows rows once every older transaction on the server has ended."""
    engine = create_engine(url, pool_size=1)
    try:
        store = EventStore(engine)
        while True:
            if await store.read_all(LogPosition(0, count - 1), limit=1):
                return
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


class Timing:
    """Append and handle times per event id, on one monotonic clock."""

    def __init__(self, projection: PostgresProjection, fold: bool = True) -> None:
        self.appended: dict[uuid.UUID, float] = {}
        self.handled: dict[uuid.UUID, float] = {}
        calendar = Settings().business_calendar()
        self._handle = consumer_handlers(projection.within, calendar)[0] if fold else _nothing

    async def handler(self, event: ReceivedEvent, conn: AsyncConnection) -> None:
        await self._handle(event, conn)
        self.handled[event.event_id] = time.perf_counter()


async def _nothing(event: ReceivedEvent, conn: AsyncConnection) -> None:
    """The baseline's handler: the relay, the broker and the toolkit's inbox, no projection."""


async def append(store: EventStore, item: tuple[str, str, dict[str, Any]], timing: Timing) -> None:
    stream, type_, data = item
    event = NewEvent(type=type_, data=data)
    await store.append(stream, ExpectedVersion.ANY, [event])
    timing.appended[event.event_id] = time.perf_counter()


async def measure_pipeline(
    url: str, amqp_url: str, sizes: Sizes, fold: bool = True
) -> tuple[float, float, float, int]:
    """(flood events/s, lag p50 ms, lag p99 ms, lag sample size) through relay and consumer.

    With `fold` False the consumer's handler does nothing: the baseline of the same run.
    """
    from helpdesk_shared.relay.relay import Relay

    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"bench.metrics.{suffix}", f"bench-metrics-{suffix}"
    engine = create_engine(url, pool_size=16, application_name="bench-metrics")
    store = EventStore(engine)
    timing = Timing(PostgresProjection(engine, store), fold)
    consumer = Consumer(
        name="metrics",
        engine=engine,
        amqp_url=amqp_url,
        exchange=exchange,
        queue_prefix=prefix,
        handler=timing.handler,
        bindings=("ticket.#",),
        prefetch=64,
    )
    relay = Relay(engine=engine, amqp_url=amqp_url, exchange=exchange, queue_prefix=prefix)
    try:
        flood = events(sizes.flood_events)
        for item in flood:
            await append(store, item, timing)
        await consumer.start()
        relaying = asyncio.create_task(relay.run())
        await _until_handled(timing, len(flood))
        first, last = min(timing.handled.values()), max(timing.handled.values())
        flood_rate = len(flood) / max(last - first, 1e-9)
        lags = await _paced_lags(store, timing, sizes, offset=sizes.flood_events)
        await relay.stop()
        await relaying
    finally:
        await consumer.stop()
        await _delete(amqp_url, exchange, prefix)
        await engine.dispose()
    p50 = statistics.median(lags)
    p99 = statistics.quantiles(lags, n=100)[98] if len(lags) >= 100 else max(lags)
    return flood_rate, p50, p99, len(lags)


async def _paced_lags(store: EventStore, timing: Timing, sizes: Sizes, offset: int) -> list[float]:
    count = int(sizes.rate * sizes.lag_seconds)
    paced = events(offset + count)[offset:]
    before = set(timing.appended)
    started = time.perf_counter()
    for i, item in enumerate(paced):
        delay = started + i / sizes.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await append(store, item, timing)
    await _until_handled(timing, len(timing.appended))
    return [
        (timing.handled[event_id] - appended) * 1000
        for event_id, appended in timing.appended.items()
        if event_id not in before
    ]


async def _until_handled(timing: Timing, count: int, within: float = 300.0) -> None:
    deadline = time.monotonic() + within
    while len(timing.handled) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(timing.handled)}/{count} events handled")
        await asyncio.sleep(0.01)


async def _delete(amqp_url: str, exchange: str, prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await delete_topology(
            channel, exchange=exchange, queue_prefix=prefix, consumers=["metrics"]
        )
    finally:
        await connection.close()


async def run(sizes: Sizes) -> None:
    settings = CommonSettings()
    admin = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    figures: dict[str, Any] = {}
    for step in ("rebuild", "baseline", "pipeline"):
        name = f"helpdesk_bench_metrics_{uuid.uuid4().hex[:8]}"
        await create_database(admin, name)
        url = with_database(admin, name)
        try:
            await asyncio.to_thread(upgrade_all, url)
            if step == "rebuild":
                figures[step] = await measure_rebuild(url, sizes.rebuild_events)
            else:
                figures[step] = await measure_pipeline(
                    url, settings.amqp_url, sizes, fold=step == "pipeline"
                )
        finally:
            await drop_database(admin, name)
    print(report(sizes, figures))


def report(sizes: Sizes, figures: dict[str, Any]) -> str:
    """The Markdown table of docs/performance.md's metrics section."""
    rebuild, read = figures["rebuild"]
    flood, p50, p99, n = figures["pipeline"]
    base_flood, base_p50, base_p99, _ = figures["baseline"]
    rebuild_met = "met" if rebuild >= REBUILD_GOAL else "NOT met"
    lag_met = "met" if p99 < LAG_P99_GOAL_MS else "NOT met"
    return "\n".join(
        [
            "| measurement | metrics | baseline in the same run | ratio | goal |",
            "| --- | --- | --- | --- | --- |",
            f"| full rebuild, {sizes.rebuild_events:,} events | {rebuild:,.0f} events/s "
            f"| `read_all` alone: {read:,.0f} events/s | {rebuild / read:.2f}x "
            f"| >= {REBUILD_GOAL:,.0f} events/s: {rebuild_met} |",
            f"| consumer, {sizes.flood_events:,} events queued | {flood:,.0f} events/s "
            f"| empty handler: {base_flood:,.0f} events/s | {flood / base_flood:.2f}x | - |",
            f"| lag at {sizes.rate:.0f} events/s ({n:,} events), p50 / p99 "
            f"| {p50:.1f} / {p99:.1f} ms | empty handler: {base_p50:.1f} / {base_p99:.1f} ms "
            f"| - | p99 < {LAG_P99_GOAL_MS:.0f} ms: {lag_met} |",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--rebuild-events", type=int, default=100_000)
    parser.add_argument("--flood-events", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    sizes = (
        Sizes(rebuild_events=5_000, flood_events=500, rate=100.0, lag_seconds=2.0)
        if args.quick
        else Sizes(args.rebuild_events, args.flood_events, args.rate, args.seconds)
    )
    asyncio.run(run(sizes))


if __name__ == "__main__":
    main()
