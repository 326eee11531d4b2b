"""The consumer toolkit's batches against the real RabbitMQ and PostgreSQL.

The events are queued before the consumer starts, so its first deliveries arrive prefetched
together and are handled in batches (the batch handler records their sizes to show it).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.messaging.consumer import Consumer, EventHandler
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import declare_consumer_queues, queue_name
from helpdesk_testkit.broker import close_broker_connections, eventually, synthetic_event
from helpdesk_testkit.consumers import ConsumerWorld, consumer_world, dead_letters_when

BATCH = 8


@pytest.fixture
async def world(
    engine: AsyncEngine, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[ConsumerWorld]:
    async with consumer_world(
        engine, amqp_url, exchange_name, queue_prefix, batch_size=BATCH
    ) as world:
        await declare_consumer_queues(
            world.channel, exchange=world.exchange, queue_prefix=world.prefix, consumer=world.name
        )
        yield world


class Batches:
    """A batch handler running `handler` for each event, remembering each batch's size."""

    def __init__(self, handler: EventHandler) -> None:
        self.handler = handler
        self.sizes: list[int] = []

    async def __call__(self, events: Sequence[ReceivedEvent], conn: AsyncConnection) -> None:
        self.sizes.append(len(events))
        for event in events:
            await self.handler(event, conn)


async def start(world: ConsumerWorld, handler: EventHandler, **options: object) -> Batches:
    batches = Batches(handler)
    await world.start(handler, batch_handler=batches, prefetch=4 * BATCH, **options)
    return batches


async def nothing_left_unacked(world: ConsumerWorld, consumer: Consumer) -> None:
    """Stop the consumer (its unacknowledged deliveries go back to the queue): none must."""
    await consumer.stop()
    queue = await world.channel.declare_queue(queue_name(world.prefix, world.name), passive=True)
    assert queue.declaration_result.message_count == 0


def interleaved(streams: int, versions: int) -> list[RecordedEvent]:
    ids = [f"storetest-{uuid.uuid4()}" for _ in range(streams)]
    return [synthetic_event(stream_id=s, version=v) for v in range(1, versions + 1) for s in ids]


async def test_redeliveries_within_and_across_batches_are_applied_once(
    world: ConsumerWorld,
) -> None:
    first, second, third = synthetic_event(), synthetic_event(), synthetic_event()
    await world.publish(first, second, first, third, second, first)
    batches = await start(world, world.recorder())
    consumer = world.consumers[0]

    await eventually(lambda: consumer.handled + consumer.duplicates == 6, what="6 deliveries")
    await world.publish(first, third)  # redelivered again, in a later batch
    await eventually(lambda: consumer.duplicates == 5, what="the later redeliveries skipped")

    assert consumer.handled == 3
    assert sorted(await world.effects()) == sorted((e.event_id, 1) for e in (first, second, third))
    assert sum(batches.sizes) == 3
    assert max(batches.sizes) > 1
    await nothing_left_unacked(world, consumer)


async def test_each_stream_is_handled_in_order_within_and_across_batches(
    world: ConsumerWorld,
) -> None:
    events = interleaved(streams=3, versions=20)
    await world.publish(*events)
    batches = await start(world, world.recorder())
    consumer = world.consumers[0]

    await eventually(lambda: consumer.handled == 60, what="60 events handled")
    handled = await world.effects()
    stream_of = {e.event_id: e.stream_id for e in events}
    for stream in {e.stream_id for e in events}:
        assert [v for i, v in handled if stream_of[i] == stream] == list(range(1, 21))
    assert len(batches.sizes) > 1
    assert max(batches.sizes) > 1
    await nothing_left_unacked(world, consumer)


async def test_batches_in_flight_together_keep_each_stream_in_order(
    world: ConsumerWorld,
) -> None:
    """Runs of one stream as long as a batch: consecutive batches share no stream and may run
    together; a stream's next run waits for the batch holding its previous one."""
    streams = [f"storetest-{uuid.uuid4()}" for _ in range(3)]
    events = [
        synthetic_event(stream_id=stream, version=run * BATCH + v)
        for run in range(3)
        for stream in streams
        for v in range(1, BATCH + 1)
    ]
    record = world.recorder()

    async def slow(event: ReceivedEvent, conn: AsyncConnection) -> None:
        await asyncio.sleep(0.002)  # a batch is still running when the next one is ready
        await record(event, conn)

    await world.publish(*events)
    await start(world, slow)
    consumer = world.consumers[0]

    await eventually(lambda: consumer.handled == len(events), what="every event handled")
    handled = await world.effects()
    stream_of = {e.event_id: e.stream_id for e in events}
    for stream in streams:
        assert [v for i, v in handled if stream_of[i] == stream] == list(range(1, 3 * BATCH + 1))
    await nothing_left_unacked(world, consumer)


async def test_a_failing_event_is_retried_then_parked_and_its_neighbours_handled(
    world: ConsumerWorld,
) -> None:
    events = [synthetic_event() for _ in range(5)]
    bad = events[2]
    record = world.recorder()

    async def fails_on_bad(event: ReceivedEvent, conn: AsyncConnection) -> None:
        await record(event, conn)
        if event.event_id == bad.event_id:
            raise RuntimeError("cannot handle this one")

    await world.publish(*events)
    await start(world, fails_on_bad, max_attempts=3)
    consumer = world.consumers[0]

    await eventually(lambda: consumer.dead_lettered == 1, what="the bad event parked")
    await eventually(lambda: consumer.handled == 4, what="its neighbours handled")
    assert sorted(await world.effects()) == sorted((e.event_id, 1) for e in events if e != bad)
    [letter] = await dead_letters_when(world, 1)
    assert letter.message_id == str(bad.event_id)
    assert letter.reason == "RuntimeError: cannot handle this one"
    assert letter.attempts == 3
    assert consumer.retried == 2
    await nothing_left_unacked(world, consumer)


async def test_a_poison_message_in_a_batch_is_parked_at_once(world: ConsumerWorld) -> None:
    before, after = synthetic_event(), synthetic_event()
    await world.publish(before)
    await world.publish_raw(b"\x00 not json", "application/cloudevents+json")
    await world.publish(after)
    batches = await start(world, world.recorder())
    consumer = world.consumers[0]

    await eventually(lambda: consumer.handled == 2, what="both good events handled")
    [letter] = await dead_letters_when(world, 1)
    assert letter.message_id == "poison-1"
    assert (letter.reason or "").startswith("poison: ")
    assert letter.attempts == 0
    assert batches.sizes == [2]  # the poison left the batch, not the events around it
    assert consumer.retried == 0
    await nothing_left_unacked(world, consumer)


async def test_a_connection_lost_mid_batch_loses_nothing_and_applies_nothing_twice(
    world: ConsumerWorld,
) -> None:
    events = interleaved(streams=4, versions=6)
    entered, release = asyncio.Event(), asyncio.Event()
    record = world.recorder()

    async def held_once(event: ReceivedEvent, conn: AsyncConnection) -> None:
        if not release.is_set():
            entered.set()
            await asyncio.wait_for(release.wait(), timeout=60)
        await record(event, conn)

    await world.publish(*events)
    await start(world, held_once)
    consumer = world.consumers[0]
    await asyncio.wait_for(entered.wait(), timeout=30)

    assert close_broker_connections(f"helpdesk-consumer {world.name}") == 1
    release.set()  # the batch commits, its ack cannot reach the broker: all redelivered

    await eventually(lambda: consumer.handled == len(events), what="every event handled")
    await eventually(lambda: consumer.duplicates >= 1, what="the committed batch redelivered")
    assert sorted(await world.effects()) == sorted((e.event_id, e.version) for e in events)
    await nothing_left_unacked(world, consumer)


async def test_a_multiple_ack_settles_every_delivery_of_the_batches(world: ConsumerWorld) -> None:
    wanted = [synthetic_event() for _ in range(30)]
    await world.publish(*wanted)
    await world.publish(*[synthetic_event() for _ in range(5)], routing_key="call.recorded")
    await start(world, world.recorder(), bindings=("ticket.#",))
    consumer = world.consumers[0]

    await eventually(lambda: consumer.handled == 30, what="30 events handled")
    await eventually(lambda: consumer.ignored == 5, what="5 unwanted events acknowledged")
    await nothing_left_unacked(world, consumer)
