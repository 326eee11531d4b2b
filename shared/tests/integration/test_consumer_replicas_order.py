"""Two replicas consuming one queue: each stream's events handled in order, each exactly once.

The queue has a single active consumer (helpdesk_shared/messaging/topology.py): one replica gets
the deliveries, the other waits, and takes over when the first stops. The handler proves the
order in the database itself: it reads the stream's last handled version and records it beside
the event's version, so an event handled before (or while) its predecessor was committed shows.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import declare_consumer_queues, delete_topology, queue_name
from helpdesk_testkit.broker import eventually, publish_events, synthetic_event

STREAMS = 40
VERSIONS = 6


@dataclass
class Replicas:
    engine: AsyncEngine
    amqp_url: str
    exchange: str
    prefix: str
    name: str
    table: str

    def consumer(self, replica: str) -> Consumer:
        async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
            seen = text(f"SELECT max(version) FROM {self.table} WHERE stream_id = :s")  # noqa: S608
            previous = (await conn.execute(seen, {"s": event.stream_id})).scalar()
            await asyncio.sleep(random.uniform(0, 0.01))
            await conn.execute(
                text(
                    f"INSERT INTO {self.table} (stream_id, version, previous, replica)"  # noqa: S608
                    " VALUES (:s, :v, :p, :r)"
                ),
                {"s": event.stream_id, "v": event.version, "p": previous or 0, "r": replica},
            )

        return Consumer(
            name=self.name, engine=self.engine, amqp_url=self.amqp_url, exchange=self.exchange,
            queue_prefix=self.prefix, handler=handle, prefetch=32, backoff_seconds=0.01,
            reconnect_interval=0.1,
        )  # fmt: skip

    async def handled(self) -> list[tuple[str, int, int, str]]:
        async with self.engine.connect() as conn:
            query = f"SELECT stream_id, version, previous, replica FROM {self.table} ORDER BY seq"  # noqa: S608
            return [tuple(row) for row in await conn.execute(text(query))]  # type: ignore[misc]


@pytest.fixture
async def replicas(
    engine: AsyncEngine, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[Replicas]:
    suffix = uuid.uuid4().hex[:8]
    world = Replicas(
        engine, amqp_url, f"{exchange_name}.{suffix}", f"{queue_prefix}.{suffix}",
        f"replicated-{suffix}", f"public.replica_order_{suffix}",
    )  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE {world.table} (seq bigserial, stream_id text NOT NULL,"
                " version int NOT NULL, previous int NOT NULL, replica text NOT NULL)"
            )
        )
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    try:
        yield world
    finally:
        await delete_topology(
            channel, exchange=world.exchange, queue_prefix=world.prefix, consumers=[world.name]
        )
        await connection.close()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE {world.table}"))


async def declare(replicas: Replicas) -> None:
    connection = await aio_pika.connect(replicas.amqp_url)
    async with connection:
        await declare_consumer_queues(
            await connection.channel(), exchange=replicas.exchange,
            queue_prefix=replicas.prefix, consumer=replicas.name,
        )  # fmt: skip


def interleaved_streams() -> list[RecordedEvent]:
    """Version 1 of every stream, then version 2 of every stream, ...: what a busy log looks
    like, and the worst case for two consumers sharing the deliveries."""
    streams = [f"ticket-{uuid.uuid4()}" for _ in range(STREAMS)]
    return [
        synthetic_event(stream_id=stream, version=version)
        for version in range(1, VERSIONS + 1)
        for stream in streams
    ]


def assert_in_order_exactly_once(handled: list[tuple[str, int, int, str]]) -> None:
    versions: dict[str, list[int]] = {}
    for stream, version, previous, _ in handled:
        assert previous == version - 1, f"{stream} v{version} handled after v{previous}"
        versions.setdefault(stream, []).append(version)
    assert len(versions) == STREAMS
    assert all(v == list(range(1, VERSIONS + 1)) for v in versions.values()), versions


async def test_two_replicas_handle_each_stream_in_order_and_once(replicas: Replicas) -> None:
    first, second = replicas.consumer("first"), replicas.consumer("second")
    events = interleaved_streams()
    await declare(replicas)
    # A backlog both replicas find waiting when they start: the deliveries could be shared.
    await publish_events(replicas.amqp_url, replicas.exchange, events, "ticket.escalated")
    await first.start()
    await second.start()
    try:

        async def all_handled() -> bool:
            return len(await replicas.handled()) >= len(events)

        await eventually(all_handled, within=60, what="every event handled")
        await asyncio.sleep(0.5)  # a late duplicate would show now
    finally:
        await second.stop()
        await first.stop()
    handled = await replicas.handled()
    assert_in_order_exactly_once(handled)
    # One active consumer: the standby got nothing while the active one ran.
    assert {replica for *_, replica in handled} == {"first"}
    assert second.handled == 0


async def test_the_standby_takes_over_in_order_when_the_active_replica_stops(
    replicas: Replicas,
) -> None:
    first, second = replicas.consumer("first"), replicas.consumer("second")
    await first.start()
    await second.start()
    events = interleaved_streams()
    half = len(events) // 2
    try:
        await publish_events(replicas.amqp_url, replicas.exchange, events[:half], "ticket.x")

        async def some_handled() -> bool:
            return len(await replicas.handled()) >= half // 4

        await eventually(some_handled, within=60, what="the active replica at work")
        await first.stop()  # a rolling restart: the standby takes the rest
        await publish_events(replicas.amqp_url, replicas.exchange, events[half:], "ticket.x")

        async def all_handled() -> bool:
            return len(await replicas.handled()) >= len(events)

        await eventually(all_handled, within=60, what="every event handled")
        await asyncio.sleep(0.5)
    finally:
        await second.stop()
        await first.stop()
    handled = await replicas.handled()
    assert_in_order_exactly_once(handled)
    assert {replica for *_, replica in handled} == {"first", "second"}


async def test_a_queue_declared_without_single_active_consumer_is_used_as_it_is(
    replicas: Replicas, caplog: pytest.LogCaptureFixture
) -> None:
    """An existing deployment's queue: re-declaring it with the new argument is refused by the
    broker; the queue (and what it holds) is used as it is, with a warning."""
    connection = await aio_pika.connect_robust(replicas.amqp_url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=7)
        await channel.declare_exchange(replicas.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        legacy = await channel.declare_queue(
            queue_name(replicas.prefix, replicas.name),
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        await legacy.bind(replicas.exchange, "#")
        await publish_events(replicas.amqp_url, replicas.exchange, [synthetic_event()], "ticket.x")
        with caplog.at_level(logging.WARNING):
            queue = await declare_consumer_queues(
                channel, exchange=replicas.exchange, queue_prefix=replicas.prefix,
                consumer=replicas.name,
            )  # fmt: skip
        assert "single active consumer" in caplog.text
        assert not channel.is_closed
        message = await queue.get(timeout=5)  # the message it held is still there
        await message.ack()
    finally:
        await connection.close()
