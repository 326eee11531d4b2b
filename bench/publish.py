"""Publish rates with publisher confirms: the relay against a plain aio-pika batched publish.

Both publish the same CloudEvents messages of the same stored events to the same topology (the
exchange, each consumer's quorum queue bound with `#`, and its dead-letter queue), in batches of
the same size whose confirms are awaited together. The plain publisher's messages are built before
its clock starts; the relay reads the events, builds the messages and advances its checkpoint in
PostgreSQL after each confirmed batch, all inside its timing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aio_pika
import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.timing import Rate, timed
from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import to_cloudevent_message
from helpdesk_shared.messaging.topology import (
    CONSUMERS,
    declare_topology,
    delete_topology,
    queue_name,
)
from helpdesk_shared.relay.relay import Relay

SOURCE = "helpdesk-bench"
HIDDEN_EVENTS = """SELECT EXISTS (SELECT 1 FROM eventstore.events
    WHERE tx_id >= pg_snapshot_xmin(pg_current_snapshot()))"""
PUBLISH_TIMEOUT = 30.0


async def read_after(engine: AsyncEngine, after: LogPosition | None) -> list[RecordedEvent]:
    """Every readable event stored after `after` (the events a publishing round works through)."""
    store = EventStore(engine)
    events: list[RecordedEvent] = []
    while batch := await store.read_all(after, 1000):
        events.extend(batch)
        after = batch[-1].log_position
    return events


async def wait_readable(dsn: str, patience: float = 120.0) -> None:
    """Wait, untimed, until readers of the log can see every stored event.

    `read_all` only returns events older than the oldest transaction running anywhere on the
    cluster (transaction ids are cluster-wide), so on a shared server a neighbour's long
    transaction (even a CREATE DATABASE) holds freshly appended events back for a while.
    """
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.perf_counter() + patience
        while await conn.fetchval(HIDDEN_EVENTS):
            if time.perf_counter() > deadline:
                raise TimeoutError("stored events stayed unreadable (a long transaction?)")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def publish_plain(
    amqp_url: str, exchange: str, queue_prefix: str, events: Sequence[RecordedEvent], batch: int
) -> Rate:
    """Publish prebuilt messages in batches, awaiting each batch's confirms together."""
    messages = [
        (to_cloudevent_message(e, SOURCE), routing_key_for(e.category, e.type)) for e in events
    ]
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        topic = await declare_topology(channel, exchange=exchange, queue_prefix=queue_prefix)

        async def work() -> int:
            for start in range(0, len(messages), batch):
                await asyncio.gather(
                    *(
                        topic.publish(message, key, timeout=PUBLISH_TIMEOUT)
                        for message, key in messages[start : start + batch]
                    )
                )
            return len(messages)

        return await timed(work)
    finally:
        await connection.close()


def make_relay(
    engine: AsyncEngine, amqp_url: str, exchange: str, queue_prefix: str, batch: int
) -> Relay:
    return Relay(
        engine=engine,
        amqp_url=amqp_url,
        exchange=exchange,
        queue_prefix=queue_prefix,
        source=SOURCE,
        batch_size=batch,
    )


async def publish_relay(relay: Relay, events: int) -> Rate:
    """Catch-up passes until the relay's checkpoint reaches the end of the log."""

    async def work() -> int:
        published = 0
        while published < events:
            count = await relay.publish_pending()
            if count == 0:
                break
            published += count
        return published

    return await timed(work)


async def queue_depths(amqp_url: str, queue_prefix: str) -> dict[str, int]:
    """Messages waiting in each consumer queue (a check that every publish was routed)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        depths: dict[str, int] = {}
        for consumer in CONSUMERS:
            queue = await channel.get_queue(queue_name(queue_prefix, consumer), ensure=True)
            declared = await queue.declare()
            depths[consumer] = declared.message_count or 0
        return depths
    finally:
        await connection.close()


async def purge_queues(amqp_url: str, queue_prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for consumer in CONSUMERS:
            queue = await channel.get_queue(queue_name(queue_prefix, consumer), ensure=True)
            await queue.purge()
    finally:
        await connection.close()


async def remove_topology(amqp_url: str, exchange: str, queue_prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await delete_topology(channel, exchange=exchange, queue_prefix=queue_prefix)
    finally:
        await connection.close()
