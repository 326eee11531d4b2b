"""The relay against the real PostgreSQL and RabbitMQ: order, confirms, one active, restarts."""

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.events.ticket import Escalated, Routed
from helpdesk_shared.eventstore.model import (
    EventMetadata,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import parse_envelope
from helpdesk_shared.messaging.topology import (
    ConsumerQueue,
    delete_topology,
    queue_name,
    topic_matches,
)
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import close_broker_connections, drain, eventually


@dataclass
class RelayWorld:
    """One test's database (empty log), exchange, queue prefix and `ticket.#` subscriber."""

    engine: AsyncEngine
    store: EventStore
    amqp_url: str
    exchange: str
    prefix: str
    channel: AbstractChannel
    subscriber: AbstractQueue

    def relay(self, **options: object) -> Relay:
        settings: dict[str, object] = {
            "engine": self.engine,
            "amqp_url": self.amqp_url,
            "exchange": self.exchange,
            "queue_prefix": self.prefix,
            "source": "helpdesk-test",
            "retry_seconds": 0.05,
            "publish_timeout": 5.0,
            "consumers": QUEUES,
            **options,
        }
        return Relay(**settings)  # type: ignore[arg-type]


#: The consumers' queues the relay is told to declare: one bound to everything, one to tickets.
QUEUES = (ConsumerQueue("everything"), ConsumerQueue("tickets", ("ticket.#",)))


def _key(event: RecordedEvent) -> str:
    return routing_key_for(event.category, event.type)


@pytest.fixture
async def world(
    fresh_database_url: str, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[RelayWorld]:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.{suffix}", f"{queue_prefix}.{suffix}"
    engine = create_engine(fresh_database_url, pool_size=4, application_name="relay-tests")
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    subscriber = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await subscriber.bind(topic, "ticket.#")
    try:
        yield RelayWorld(
            engine, EventStore(engine), amqp_url, exchange, prefix, channel, subscriber
        )
    finally:
        await subscriber.delete(if_unused=False, if_empty=False)
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix, consumers=QUEUES)
        await connection.close()
        await engine.dispose()


def escalation(ticket: uuid.UUID, n: int) -> NewEvent:
    event = Escalated(
        ticket_id=ticket,
        occurred_at=datetime.now(UTC),
        from_level=1,
        to_level=2,
        group=f"n2-{n}",
        reason="Imprimante du 3e étage hors service",
        by="agent-1",
    )
    return NewEvent.from_domain(event, EventMetadata(correlation_id=f"c-{n}", actor="agent-1"))


def routing(ticket: uuid.UUID, n: int) -> NewEvent:
    event = Routed(
        ticket_id=ticket,
        occurred_at=datetime.now(UTC),
        from_group="desk",
        to_group=f"reseau-{n}",
        reason="Relève du réseau",
        by="agent-1",
    )
    return NewEvent.from_domain(event)


async def append_some(store: EventStore, tickets: int = 3, per_ticket: int = 4) -> None:
    """Appends from several concurrent writers, so the log interleaves the streams."""

    async def write(ticket: uuid.UUID) -> None:
        for n in range(per_ticket):
            make = escalation if n % 2 == 0 else routing
            await store.append(f"ticket-{ticket}", ExpectedVersion.ANY, [make(ticket, n)])

    await asyncio.gather(*(write(uuid.uuid4()) for _ in range(tickets)))


async def whole_log(store: EventStore, expect: int) -> list[RecordedEvent]:
    """The log once `expect` events are readable.

    The log shows an event only once every older transaction of the whole PostgreSQL cluster has
    ended, so other tests' open transactions can hold it back for a moment.
    """
    log: list[RecordedEvent] = []

    async def readable() -> bool:
        log[:] = await store.read_all(LogPosition.start(), 100_000)
        return len(log) >= expect

    await eventually(readable, within=60, what=f"{expect} readable events")
    return log


def event_ids(messages: list[aio_pika.abc.AbstractIncomingMessage]) -> list[uuid.UUID]:
    return [parse_envelope(m.body, m.content_type).event_id for m in messages]


@contextlib.asynccontextmanager
async def running(relay: Relay) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        await relay.stop()
        await asyncio.wait_for(task, 15)


async def test_every_event_is_published_in_store_order_as_a_cloudevent(world: RelayWorld) -> None:
    await append_some(world.store)
    await world.store.append(
        f"intake-{uuid.uuid4()}", ExpectedVersion.ANY, [NewEvent("ContactReceived", {"x": 1})]
    )
    log = await whole_log(world.store, 13)

    relay = world.relay(batch_size=4)  # several batches in flight at once: still in order
    published = await relay.publish_pending()
    await relay.stop()

    assert published == len(log) == 13
    messages = await drain(world.subscriber, expect=12)
    ticket_events = [e for e in log if e.category == "ticket"]
    assert event_ids(messages) == [e.event_id for e in ticket_events]
    for message, stored in zip(messages, ticket_events, strict=True):
        assert (
            message.routing_key
            == {"Escalated": "ticket.escalated", "Routed": "ticket.routed"}[stored.type]
        )
        assert message.content_type == "application/cloudevents+json"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        received = parse_envelope(message.body, message.content_type)
        assert (received.stream_id, received.version) == (stored.stream_id, stored.version)
        assert received.global_position == stored.global_position
        assert received.source == "helpdesk-test"
        assert received.to_domain() == stored.to_domain()
    # The queues it was given existed, with their bindings, before the first publish: nothing lost.
    for consumer in QUEUES:
        queue = await world.channel.get_queue(queue_name(world.prefix, consumer.name))
        wanted = [e for e in log if any(topic_matches(b, _key(e)) for b in consumer.bindings)]
        assert queue.declaration_result.message_count == len(wanted)
    assert len(wanted) == len(ticket_events) < len(log)


async def test_the_backlog_gauges_say_what_is_left_to_publish(world: RelayWorld) -> None:
    await append_some(world.store)
    log = await whole_log(world.store, 12)
    relay = world.relay(batch_size=5)

    await relay.measure_backlog(await relay.checkpoint())
    assert relay.metrics.events_behind._value.get() == len(log) == 12
    oldest_age = relay.metrics.oldest_unpublished_age._value.get()
    assert 0 <= oldest_age < 60  # appended just now

    await relay.publish_pending()
    await relay.stop()
    await relay.measure_backlog(await relay.checkpoint())
    assert relay.metrics.events_behind._value.get() == 0
    assert relay.metrics.oldest_unpublished_age._value.get() == 0


async def test_sequence_increases_in_delivery_order_and_is_the_same_on_republication(
    world: RelayWorld,
) -> None:
    """Subscribers resume from `sequence`: it must follow the delivery order (which
    `globalposition` need not, see ADR 0003) and not change when an event is published again."""
    await append_some(world.store, tickets=4, per_ticket=3)
    log = await whole_log(world.store, 12)
    relay = world.relay(batch_size=5)
    assert await relay.publish_pending() == 12
    first = [
        parse_envelope(m.body, m.content_type) for m in await drain(world.subscriber, expect=12)
    ]
    # Published again from the start (a relay that lost its checkpoint): the same sequences.
    async with world.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM infra.checkpoints WHERE name = :name"),
            {"name": relay.checkpoint_name},
        )
    await relay.stop()
    again_relay = world.relay(batch_size=5)
    assert await again_relay.publish_pending() == 12
    await again_relay.stop()
    again = [
        parse_envelope(m.body, m.content_type) for m in await drain(world.subscriber, expect=12)
    ]

    sequences = [e.sequence for e in first]
    assert all(a < b for a, b in itertools.pairwise(sequences)), sequences
    assert sequences == [e.log_position.sequence for e in log]
    assert [(e.event_id, e.sequence) for e in again] == [(e.event_id, e.sequence) for e in first]
    assert [LogPosition.from_sequence(s) for s in sequences] == [e.log_position for e in log]


async def test_checkpoint_advances_only_after_the_broker_confirmed(world: RelayWorld) -> None:
    relay = world.relay(batch_size=5)
    await append_some(world.store, tickets=2, per_ticket=3)
    log = await whole_log(world.store, 6)
    # A queue that refuses every message makes the broker answer publishes with a nack.
    topic = await world.channel.get_exchange(world.exchange)
    refusing = await world.channel.declare_queue(
        f"{world.prefix}.refusing",
        exclusive=True,
        arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
    )
    await refusing.bind(topic, "#")

    with pytest.raises(aio_pika.exceptions.DeliveryError):
        await relay.publish_pending()
    assert await relay.checkpoint() == LogPosition.start()

    await refusing.delete(if_unused=False, if_empty=False)
    assert await relay.publish_pending() == len(log)
    assert await relay.checkpoint() == log[-1].log_position
    delivered = event_ids(await drain(world.subscriber, expect=len(log)))
    assert set(delivered) == {e.event_id for e in log}  # the refused batch came again: no loss
    await relay.stop()
    another = world.relay()
    assert await another.publish_pending() == 0  # and nothing is published twice later
    await another.stop()


async def test_only_one_of_two_relays_publishes_and_the_other_takes_over(
    world: RelayWorld,
) -> None:
    first, second = world.relay(), world.relay()
    async with running(first), running(second):
        await eventually(lambda: first.is_active or second.is_active, what="an active relay")
        active, standby = (first, second) if first.is_active else (second, first)
        await append_some(world.store)
        messages = await drain(world.subscriber, expect=12)
        assert not standby.is_active
        async with running(world.relay()):  # a third replica changes nothing
            await append_some(world.store, tickets=1, per_ticket=2)
            messages += await drain(world.subscriber, expect=2)
        await active.stop()
        await eventually(lambda: standby.is_active, what="the standby relay taking over")
        await append_some(world.store, tickets=1, per_ticket=2)
        messages += await drain(world.subscriber, expect=2)

    assert event_ids(messages) == [e.event_id for e in await whole_log(world.store, 16)]
    assert await world.subscriber.get(fail=False) is None


async def test_a_restarted_relay_resumes_from_its_checkpoint(world: RelayWorld) -> None:
    async with running(world.relay()):
        await append_some(world.store, tickets=2, per_ticket=2)
        before = await drain(world.subscriber, expect=4)
    await append_some(world.store, tickets=2, per_ticket=3)  # while no relay runs

    async with running(world.relay()):
        after = await drain(world.subscriber, expect=6)

    assert event_ids(before + after) == [e.event_id for e in await whole_log(world.store, 10)]


async def test_the_relay_survives_a_broker_side_connection_drop(world: RelayWorld) -> None:
    relay = world.relay()
    async with running(relay):
        await append_some(world.store, tickets=2, per_ticket=2)
        delivered = event_ids(await drain(world.subscriber, expect=4))

        assert close_broker_connections(f"helpdesk-relay {world.exchange}") == 1
        await append_some(world.store, tickets=2, per_ticket=3)
        log = await whole_log(world.store, 10)

        async def caught_up() -> bool:
            return await relay.checkpoint() == log[-1].log_position

        await eventually(caught_up, what="the relay to publish what was appended after the drop")
        delivered += event_ids(await drain(world.subscriber, expect=6))

    assert set(delivered) == {e.event_id for e in log}  # at least once: nothing lost


async def test_the_relay_steps_down_and_comes_back_when_its_lock_session_dies(
    world: RelayWorld,
) -> None:
    relay = world.relay()
    async with running(relay):
        await eventually(lambda: relay.is_active, what="the relay to become active")
        await append_some(world.store, tickets=1, per_ticket=2)
        delivered = event_ids(await drain(world.subscriber, expect=2))

        async with world.engine.begin() as conn:
            killed = await conn.execute(
                text(
                    """SELECT pg_terminate_backend(pid) FROM pg_locks
                    WHERE locktype = 'advisory' AND database =
                        (SELECT oid FROM pg_database WHERE datname = current_database())"""
                )
            )
            assert killed.all() == [(True,)]
        await append_some(world.store, tickets=2, per_ticket=2)
        log = await whole_log(world.store, 6)

        async def caught_up() -> bool:
            return relay.is_active and await relay.checkpoint() == log[-1].log_position

        await eventually(caught_up, what="the relay to take the lock again and catch up")
        delivered += event_ids(await drain(world.subscriber, expect=4))

    assert set(delivered) == {e.event_id for e in log}
