"""Publish rates with publisher confirms: the relay against a plain aio-pika batched publish.

Both publish the same stored events to the same topology (the exchange, each consumer's quorum
queue bound with `#`, and its dead-letter queue), persistent, in batches of the same size whose
confirms are awaited together, each building its messages inside its timing. The plain publisher
holds the events in memory and dumps a CloudEvents-shaped dict with `json`; the relay reads the
events from the store (each body as its stored JSON text), writes its envelopes around them and
advances its checkpoint in PostgreSQL after each confirmed batch.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

import aio_pika
import asyncpg
from deploy.local.parts import consumer_queues
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.timing import Rate, timed
from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.topology import (
    ConsumerQueue,
    declare_topology,
    delete_topology,
    queue_name,
)
from helpdesk_shared.relay.relay import Relay

SOURCE = "helpdesk-bench"
#: The consuming services' queues, each bound with `#`: every published event is routed to each
#: of them, so that every publish is counted in every queue and runs stay comparable.
QUEUES = tuple(ConsumerQueue(queue.name) for queue in consumer_queues())
END_OF_LOG = """SELECT tx_id::text::bigint AS tx_id, global_position FROM eventstore.events
    ORDER BY events.tx_id DESC, events.global_position DESC LIMIT 1"""
MOVE_CHECKPOINT = """INSERT INTO infra.checkpoints (name, tx_id, global_position)
    VALUES ($1, $2, $3)
    ON CONFLICT (name) DO UPDATE SET tx_id = $2, global_position = $3"""
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


async def end_of_log(dsn: str) -> LogPosition:
    """The position of the last stored event (call once every event is readable)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(END_OF_LOG)
    finally:
        await conn.close()
    return (
        LogPosition(int(row["tx_id"]), int(row["global_position"])) if row else LogPosition.start()
    )


async def move_checkpoint(dsn: str, name: str, position: LogPosition) -> None:
    """Make a relay start at `position`, as one that has followed the log so far would."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(MOVE_CHECKPOINT, name, position.tx_id, position.global_position)
    finally:
        await conn.close()


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


def plain_message(event: RecordedEvent) -> aio_pika.Message:
    """What a plain publisher sends: the same CloudEvents attributes, dumped with `json`."""
    envelope = {
        "specversion": "1.0",
        "id": str(event.event_id),
        "type": event.type,
        "source": SOURCE,
        "subject": event.stream_id,
        "time": event.recorded_at.isoformat(),
        "datacontenttype": "application/json",
        "streamversion": event.version,
        "globalposition": event.global_position,
        "schemaversion": event.schema_version,
        "data": event.data,
    }
    return aio_pika.Message(
        body=json.dumps(envelope).encode(),
        content_type="application/cloudevents+json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.event_id),
    )


async def publish_plain(
    amqp_url: str, exchange: str, queue_prefix: str, events: Sequence[RecordedEvent], batch: int
) -> Rate:
    """Build and publish the messages in batches, awaiting each batch's confirms together."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        topic = await declare_topology(
            channel, exchange=exchange, queue_prefix=queue_prefix, consumers=QUEUES
        )

        async def work() -> int:
            for start in range(0, len(events), batch):
                await asyncio.gather(
                    *(
                        topic.publish(
                            plain_message(event),
                            routing_key_for(event.category, event.type),
                            timeout=PUBLISH_TIMEOUT,
                        )
                        for event in events[start : start + batch]
                    )
                )
            return len(events)

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
        consumers=QUEUES,
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
        for consumer in QUEUES:
            queue = await channel.get_queue(queue_name(queue_prefix, consumer.name), ensure=True)
            declared = await queue.declare()
            depths[consumer.name] = declared.message_count or 0
        return depths
    finally:
        await connection.close()


async def purge_queues(amqp_url: str, queue_prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        for consumer in QUEUES:
            queue = await channel.get_queue(queue_name(queue_prefix, consumer.name), ensure=True)
            await queue.purge()
    finally:
        await connection.close()


async def remove_topology(amqp_url: str, exchange: str, queue_prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await delete_topology(
            channel, exchange=exchange, queue_prefix=queue_prefix, consumers=QUEUES
        )
    finally:
        await connection.close()
