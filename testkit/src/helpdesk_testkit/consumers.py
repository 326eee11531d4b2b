"""A consumer test's world: its own exchange, queue names and effects table, and the helpers
the consumer toolkit's integration tests share (a recording handler, a failing one, the DLQ)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.messaging.consumer import Consumer, EventHandler
from helpdesk_shared.messaging.dead_letters import DeadLetter, list_dead_letters
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import dead_letter_queue_name, delete_topology
from helpdesk_testkit.broker import eventually, publish_events


@dataclass
class ConsumerWorld:
    """One test's exchange, consumer name and effects table (in this run's database)."""

    engine: AsyncEngine
    amqp_url: str
    exchange: str
    prefix: str
    name: str
    table: str
    channel: AbstractChannel
    #: The deliveries a consumer of this world handles per transaction (unless a test says).
    batch_size: int = 1
    consumers: list[Consumer] = field(default_factory=list)

    @property
    def batch_try(self) -> int:
        """Calls of a handler made in a batch that failed before the event's own attempts: a
        failed batch is handled again one by one, each event with all its attempts."""
        return int(self.batch_size > 1)

    async def start(self, handler: EventHandler, **options: object) -> Consumer:
        settings: dict[str, object] = {
            "name": self.name,
            "engine": self.engine,
            "amqp_url": self.amqp_url,
            "exchange": self.exchange,
            "queue_prefix": self.prefix,
            "handler": handler,
            "backoff_seconds": 0.01,
            "max_attempts": 3,
            "reconnect_interval": 0.1,
            "batch_size": self.batch_size,
            **options,
        }
        consumer = Consumer(**settings)  # type: ignore[arg-type]
        await consumer.start()
        self.consumers.append(consumer)
        return consumer

    def recorder(self, calls: list[ReceivedEvent] | None = None) -> EventHandler:
        """A handler writing one row per event into the effects table, in the given transaction."""

        async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
            if calls is not None:
                calls.append(event)
            await conn.execute(
                text(f"INSERT INTO {self.table} (event_id, version) VALUES (:id, :version)"),  # noqa: S608
                {"id": event.event_id, "version": event.version},
            )

        return handle

    async def effects(self) -> list[tuple[uuid.UUID, int]]:
        async with self.engine.connect() as conn:
            query = f"SELECT event_id, version FROM {self.table} ORDER BY seq"  # noqa: S608
            rows = await conn.execute(text(query))
            return [(row.event_id, row.version) for row in rows]

    async def publish(self, *events: object, routing_key: str = "ticket.escalated") -> None:
        await publish_events(self.amqp_url, self.exchange, events, routing_key)  # type: ignore[arg-type]

    async def publish_raw(self, body: bytes, content_type: str) -> None:
        exchange = await self.channel.get_exchange(self.exchange)
        await exchange.publish(
            aio_pika.Message(body, content_type=content_type, message_id="poison-1"), "ticket.x"
        )


@asynccontextmanager
async def consumer_world(
    engine: AsyncEngine, amqp_url: str, exchange_name: str, queue_prefix: str, batch_size: int = 1
) -> AsyncIterator[ConsumerWorld]:
    """A world removed afterwards: consumers stopped, exchange, queues and table dropped."""
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix, name = f"{exchange_name}.{suffix}", f"{queue_prefix}.{suffix}", "svc"
    table = f"public.consumer_effects_{suffix}"
    async with engine.begin() as conn:
        await conn.execute(
            text(f"CREATE TABLE {table} (seq bigserial, event_id uuid NOT NULL, version int)")
        )
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    world = ConsumerWorld(
        engine, amqp_url, exchange, prefix, f"{name}-{suffix}", table, channel, batch_size
    )
    try:
        yield world
    finally:
        for consumer in world.consumers:
            await consumer.stop()
        await delete_topology(
            channel, exchange=exchange, queue_prefix=prefix, consumers=[world.name]
        )
        await connection.close()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE {table}"))


def failing(times: int, then: EventHandler, calls: list[int]) -> EventHandler:
    """A handler that writes, then fails, `times` times (each failure must roll back)."""

    async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
        calls.append(1)
        await then(event, conn)
        if len(calls) <= times:
            raise RuntimeError(f"transient failure {len(calls)}")

    return handle


async def dead_letters_when(world: ConsumerWorld, count: int) -> list[DeadLetter]:
    """The DLQ's listing once it holds `count` messages (parking is confirmed, but be patient)."""
    letters: list[DeadLetter] = []

    async def parked() -> bool:
        letters[:] = await list_dead_letters(world.amqp_url, world.prefix, world.name)
        return len(letters) >= count

    await eventually(
        parked, what=f"{count} dead letters in {dead_letter_queue_name(world.prefix, world.name)}"
    )
    return letters
