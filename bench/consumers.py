"""The consumer toolkit's rates beside plain aio-pika consuming the same quorum queue.

- `aio-pika`: the messages queued first, then consumed with manual acks (one `ack` per message,
  the same prefetch), nothing else: the floor under any consumer of the queue.
- `toolkit, empty handler`: the same messages through the shared `Consumer` (inbox claim,
  commit, ack) with a handler that does nothing. Goal: >= 0.5x aio-pika.
- `metrics consumer`: ticket events (five per ticket) through the metrics consumer's real
  handlers, with the service's batch size. Goal: >= 2,000 events/s.
- `metrics lag`: ticket events published at 1,000 per second while the metrics consumer runs;
  for each, the time from its publish to the end of its handling (the commit follows at once).
  Goal: p99 < 250 ms.
- CPU per event (process time over the same runs): what the toolkit and the metrics handler cost
  whatever the neighbours' load, beside aio-pika's and the empty handler's.

The three rates are measured in alternating rounds (two in a full run) and the best of each kept.
`bench/bench_metrics.py`'s consumer throughput goes through the relay as well; its lag row at
200 events/s is the relay and consumer together, this one the consumer alone at 1,000 events/s.
Every measurement has its own exchange, quorum queue and database, removed at the end. Run:
`uv run --frozen python -m bench.consumers [--quick]` (PostgreSQL and RabbitMQ from `DATABASE_URL`
and `AMQP_URL`, else localhost).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.bench_metrics import START
from bench.bench_metrics import events as ticket_events
from bench.summary import SummaryRow, load_during
from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.entrypoints.consumer import consumer_handlers
from helpdesk_metrics.settings import Settings as MetricsSettings
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent
from helpdesk_shared.messaging.batches import BatchHandler
from helpdesk_shared.messaging.consumer import Consumer, EventHandler
from helpdesk_shared.messaging.envelope import ReceivedEvent, to_cloudevent_message
from helpdesk_shared.messaging.topology import (
    declare_consumer_queues,
    delete_topology,
    queue_name,
)
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

PREFETCH = 256
TOOLKIT_RATIO_GOAL = 0.5
METRICS_GOAL = 2_000.0
LAG_RATE = 1_000.0
LAG_P99_GOAL_MS = 250.0


@dataclass(frozen=True)
class Sizes:
    messages: int
    lag_seconds: float
    rounds: int


@dataclass
class Scratch:
    """One measurement's exchange, queue prefix and consumer name, and the database."""

    engine: AsyncEngine
    amqp_url: str
    exchange: str
    prefix: str
    name: str = "metrics"


@asynccontextmanager
async def scratch() -> AsyncIterator[Scratch]:
    """A throwaway database (migrated) and broker names, removed at the end."""
    settings = CommonSettings()
    admin = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    database = f"helpdesk_bench_consumers_{uuid.uuid4().hex[:8]}"
    await create_database(admin, database)
    url = with_database(admin, database)
    suffix = uuid.uuid4().hex[:8]
    engine = create_engine(url, pool_size=8, application_name="bench-consumers")
    place = Scratch(engine, settings.amqp_url, f"bench.consumers.{suffix}", f"bench-c-{suffix}")
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        await asyncio.to_thread(upgrade_all, url)
        channel = await connection.channel()
        await channel.declare_exchange(place.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await declare_consumer_queues(
            channel, exchange=place.exchange, queue_prefix=place.prefix, consumer=place.name
        )
        yield place
    finally:
        await delete_topology(
            channel, exchange=place.exchange, queue_prefix=place.prefix, consumers=[place.name]
        )
        await connection.close()
        await engine.dispose()
        await drop_database(admin, database)


def recorded(count: int) -> list[RecordedEvent]:
    """`count` ticket events as the store would hand them to the relay (recorded now)."""
    versions: dict[str, int] = {}
    out: list[RecordedEvent] = []
    for position, (stream, type_, data) in enumerate(ticket_events(count), start=1):
        versions[stream] = versions.get(stream, 0) + 1
        out.append(
            RecordedEvent(
                *(position, 1, stream, versions[stream], uuid.uuid4(), type_, 1, data),
                EventMetadata(),
                datetime.now(UTC),
            )
        )
    return out


async def publish(place: Scratch, events: Sequence[RecordedEvent], batch: int = 500) -> None:
    """Queue the events as the relay does (persistent, confirmed), a batch of confirms at once."""
    connection = await aio_pika.connect(place.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(place.exchange)
        for start in range(0, len(events), batch):
            await asyncio.gather(*(_send(exchange, e) for e in events[start : start + batch]))
    finally:
        await connection.close()


async def _send(exchange: aio_pika.abc.AbstractExchange, event: RecordedEvent) -> None:
    message = to_cloudevent_message(event, "bench")
    await exchange.publish(message, routing_key_for(event.category, event.type), timeout=30)


async def _until(check: Callable[[], bool], within: float = 600.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the consumer did not finish")
        await asyncio.sleep(0.005)


@dataclass(frozen=True)
class Run:
    """A consumer's events/s over the queued messages and its CPU time per event (ms): the
    CPU figure barely moves with the neighbours' load, the rate does."""

    rate: float
    cpu_ms: float


class Clock:
    """Wall and process CPU time from its start."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def run(self, count: int) -> Run:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return Run(count / wall, cpu * 1000 / count)


async def plain_rate(place: Scratch, count: int) -> Run:
    """aio-pika consuming the queued messages with manual acks, one per message."""
    await publish(place, recorded(count))
    clock = Clock()  # from the connection on, as the toolkit's figure
    connection = await aio_pika.connect(place.amqp_url)
    acked = 0

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal acked
        await message.ack()
        acked += 1

    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(queue_name(place.prefix, place.name))
        await queue.consume(on_message)
        await _until(lambda: acked >= count)
        return clock.run(count)
    finally:
        await connection.close()


def toolkit(
    place: Scratch, handler: EventHandler, batch: BatchHandler | None, batch_size: int
) -> Consumer:
    return Consumer(
        name=place.name,
        engine=place.engine,
        amqp_url=place.amqp_url,
        exchange=place.exchange,
        queue_prefix=place.prefix,
        handler=handler,
        batch_handler=batch,
        batch_size=batch_size,
        bindings=("ticket.#",),
        prefetch=PREFETCH,
    )


async def toolkit_rate(place: Scratch, count: int, consumer: Consumer) -> Run:
    """The queued messages through `consumer`: events/s from its start to the last commit."""
    await publish(place, recorded(count))
    clock = Clock()
    await consumer.start()
    try:
        await _until(lambda: consumer.handled >= count)
        return clock.run(count)
    finally:
        await consumer.stop()


async def _nothing(event: ReceivedEvent, conn: AsyncConnection) -> None:
    """The empty handler: the toolkit's own work only (inbox, commit, ack)."""


def metrics_consumer(place: Scratch, handled: dict[uuid.UUID, float] | None = None) -> Consumer:
    """The metrics consumer's handlers and batch size on the scratch names (timing each event's
    end of handling into `handled` when given)."""
    settings = MetricsSettings()
    calendar = settings.business_calendar()
    calendar.is_holiday(START.date())  # loads the holiday tables: once per process, not per event
    handler, batch = consumer_handlers(PostgresProjection(place.engine).within, calendar)
    if handled is not None:
        inner = batch

        async def timed(events: Sequence[ReceivedEvent], conn: AsyncConnection) -> None:
            await inner(events, conn)
            now = time.perf_counter()
            handled.update((event.event_id, now) for event in events)

        batch = timed
    return toolkit(place, handler, batch, settings.metrics_consumer_batch_size)


async def lag_p99(place: Scratch, seconds: float) -> tuple[float, float, int]:
    """(p50 ms, p99 ms, events) of publish-to-handled at `LAG_RATE` events/s."""
    handled: dict[uuid.UUID, float] = {}
    consumer = metrics_consumer(place, handled)
    events = recorded(int(LAG_RATE * seconds))
    published: dict[uuid.UUID, float] = {}
    connection = await aio_pika.connect(place.amqp_url)
    await consumer.start()
    try:
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.get_exchange(place.exchange)
        started = time.perf_counter()
        for i, event in enumerate(events):
            delay = started + i / LAG_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            published[event.event_id] = time.perf_counter()
            await _send(exchange, event)
        await _until(lambda: len(handled) >= len(events))
    finally:
        await consumer.stop()
        await connection.close()
    lags = [(handled[i] - at) * 1000 for i, at in published.items()]
    return statistics.median(lags), statistics.quantiles(lags, n=100)[98], len(lags)


async def summary_rows(quick: bool) -> list[SummaryRow]:
    """The figures, each measured on its own scratch queue and database; the three rates in
    alternating rounds (best of each kept), so that a burst of the neighbours' load hits them
    alike."""
    sizes = Sizes(500, 1.0, rounds=1) if quick else Sizes(20_000, 10.0, rounds=2)
    n = sizes.messages
    plain, empty, metrics = [], [], []
    with load_during() as load:
        for _ in range(sizes.rounds):
            async with scratch() as place:
                plain.append(await plain_rate(place, n))
            async with scratch() as place:
                consumer = toolkit(place, _nothing, None, batch_size())
                empty.append(await toolkit_rate(place, n, consumer))
            async with scratch() as place:
                metrics.append(await toolkit_rate(place, n, metrics_consumer(place)))
            load.sample()
    with load_during() as lag_load:
        async with scratch() as place:
            p50, p99, count = await lag_p99(place, sizes.lag_seconds)
    lag = SummaryRow(
        *(f"metrics lag p99 at {LAG_RATE:,.0f} events/s ({count:,} events)", p99, "ms"),
        *(None, f"p50 {p50:.1f} ms"),
        *(f"p99 < {LAG_P99_GOAL_MS:.0f} ms", p99 < LAG_P99_GOAL_MS),
        *(lag_load.mean, 1),
    )
    return [*_rows(sizes, _best(plain), _best(empty), _best(metrics), load.mean), lag]


def _best(runs: list[Run]) -> Run:
    return Run(max(r.rate for r in runs), min(r.cpu_ms for r in runs))


def _rows(sizes: Sizes, plain: Run, empty: Run, metrics: Run, load: float) -> list[SummaryRow]:
    n, rounds = sizes.messages, sizes.rounds
    return [
        SummaryRow(
            *(f"consumer toolkit, empty handler, {n:,} queued", empty.rate, "events/s"),
            *(plain.rate, "aio-pika, manual acks, same quorum queue"),
            *(f">= {TOOLKIT_RATIO_GOAL}x baseline", empty.rate >= TOOLKIT_RATIO_GOAL * plain.rate),
            *(load, rounds),
        ),
        SummaryRow(
            *(f"metrics consumer, {n:,} ticket events queued", metrics.rate, "events/s"),
            *(empty.rate, "toolkit, empty handler"),
            *(f">= {METRICS_GOAL:,.0f} events/s", metrics.rate >= METRICS_GOAL),
            *(load, rounds),
        ),
        SummaryRow(
            *("consumer toolkit, empty handler: CPU per event", empty.cpu_ms, "ms"),
            *(plain.cpu_ms, "aio-pika, manual acks"),
            *("- (indicative)", True),
            *(load, rounds),
        ),
        SummaryRow(
            *("metrics consumer: CPU per event", metrics.cpu_ms, "ms"),
            *(empty.cpu_ms, "toolkit, empty handler"),
            *("- (indicative)", True),
            *(load, rounds),
        ),
    ]


def batch_size() -> int:
    """The toolkit's batch size in the empty-handler row: the metrics service's."""
    return MetricsSettings().metrics_consumer_batch_size


def render(rows: Sequence[SummaryRow]) -> str:
    lines = [
        "| path | figure | baseline (same run) | ratio | goal | load |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = "-" if row.baseline is None else f"{_figure(row.baseline)} {row.unit}"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        verdict = "met" if row.met else "NOT met"
        lines.append(
            f"| {row.path} | {_figure(row.figure)} {row.unit} | {row.baseline_label}: {base} "
            f"| {ratio} | {row.goal}: {verdict} | {row.load:.1f} |"
        )
    return "\n".join(lines)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args(argv)
    print(render(asyncio.run(summary_rows(args.quick))))


if __name__ == "__main__":
    main()
