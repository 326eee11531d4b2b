"""The relay writes the envelope around each body's stored JSON text: what a consumer parses from
the broker must be exactly the event as the store holds it, for awkward JSON too."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import (
    EventMetadata,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import METADATA_EXTENSIONS, TYPE_HEADER, parse_envelope
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import drain, eventually

#: Bodies whose stored text differs most from what `json.dumps` writes: `jsonb` reorders keys,
#: writes non-ASCII as it is, spaces its own way and keeps numbers as numerics (1e20 comes back
#: as 100000000000000000000, 1.0 as 1.0).
AWKWARD: list[dict[str, Any]] = [
    {
        "text": 'Zoë 🖨️ "quoted" \\ back\nslash\t\u2028 </script>',
        "nested": {"z": [1, {"b": None, "a": [], "": {}}], "aa": {"deeper": {"x": [[]]}}},
        "float": 1.0,
        "big": 1e20,
        "small": -0.000123,
        "huge_int": 12345678901234567890,
        "empty_object": {},
        "empty_list": [],
        "flags": [True, False, None],
        "日本語のキー": "値",
    },
    {},
    {"a": {"b": {"c": {"d": {"e": {"f": "deep", "n": 0}}}}}},
]

METADATA = [
    EventMetadata(
        correlation_id="corr-é-🎫", causation_id="cmd-9", actor='agent "x"', extra={"k": [1]}
    ),
    EventMetadata(),
    EventMetadata(correlation_id="c-3", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
]


@dataclass
class Broker:
    exchange: str
    prefix: str
    subscriber: AbstractQueue


@pytest.fixture
async def broker(amqp_url: str, exchange_name: str, queue_prefix: str) -> AsyncIterator[Broker]:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.fidelity.{suffix}", f"{queue_prefix}.fidelity.{suffix}"
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    subscriber = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await subscriber.bind(topic, "#")
    try:
        yield Broker(exchange, prefix, subscriber)
    finally:
        await subscriber.delete(if_unused=False, if_empty=False)
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix, consumers=())
        await connection.close()


async def test_the_published_envelope_decodes_to_exactly_the_stored_event(
    fresh_database_url: str, amqp_url: str, broker: Broker
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="relay-fidelity")
    store = EventStore(engine)
    relay = Relay(
        engine=engine,
        amqp_url=amqp_url,
        exchange=broker.exchange,
        queue_prefix=broker.prefix,
        source="helpdesk-fidelity",
        publish_timeout=5.0,
    )
    try:
        for data, metadata in zip(AWKWARD, METADATA, strict=True):
            event = NewEvent("Escalated", data, schema_version=1, metadata=metadata)
            await store.append(f"ticket-{uuid.uuid4()}", ExpectedVersion.NO_STREAM, [event])
        stored = await _whole_log(store, len(AWKWARD))
        assert await relay.publish_pending() == len(AWKWARD)
        messages = await drain(broker.subscriber, expect=len(AWKWARD))
    finally:
        await relay.stop()
        await engine.dispose()

    assert len(messages) == len(stored)
    for message, event, written in zip(messages, stored, AWKWARD, strict=True):
        _assert_same_event(message, event)
        assert event.data == written  # the store kept the value (1e20 == 10**20, 1.0 == 1)
    # The stored text really was reordered: the splice is not just `json.dumps` again.
    assert messages[0].body.index(b'"big"') < messages[0].body.index(b'"text"')


def _assert_same_event(message: AbstractIncomingMessage, event: RecordedEvent) -> None:
    received = parse_envelope(message.body, message.content_type)
    assert received.data == event.data
    assert _typed(received.data) == _typed(event.data)  # 1.0 stays a float, 10**20 an int
    assert received.event_id == event.event_id
    assert received.type == event.type
    assert received.stream_id == event.stream_id
    assert received.version == event.version
    assert received.global_position == event.global_position
    assert received.sequence == event.log_position.sequence
    assert received.schema_version == event.schema_version
    assert received.recorded_at == event.recorded_at
    assert received.source == "helpdesk-fidelity"
    carried = event.metadata.to_json()
    assert received.metadata == {
        key: carried[key] for key in METADATA_EXTENSIONS.values() if carried.get(key) is not None
    }
    # The AMQP properties consumers and the dead-letter tools read.
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == str(event.event_id)
    assert message.type == event.type
    assert message.app_id == "helpdesk-fidelity"
    assert message.correlation_id == event.metadata.correlation_id
    assert message.headers == {TYPE_HEADER: event.type}
    assert message.timestamp == event.recorded_at.replace(microsecond=0)


def _typed(value: Any) -> Any:
    """`value` with every leaf paired with its type, so that 1.0 and 1 differ."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


async def _whole_log(store: EventStore, expect: int) -> list[RecordedEvent]:
    """The log once `expect` events are readable (other tests' transactions can hold it back)."""
    log: list[RecordedEvent] = []

    async def readable() -> bool:
        log[:] = await store.read_all(LogPosition.start(), 1000)
        return len(log) >= expect

    await eventually(readable, within=60, what=f"{expect} readable events")
    return log
