"""A body stored at an older schema version reaches the code at the current one, on every read.

`CommentAdded` is stored raw as an older schema would have written it (`body`, no visibility,
schema version 1) while the catalogue is one version ahead (see `schema_bumped`), with the
upcaster. It is read back through the stream (`read_stream` -> `to_domain`), the relay's
CloudEvent and a consumer on the real broker: each sees the current shape. Without the upcaster,
the read fails with an error naming the missing step.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import aio_pika
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.events import MissingUpcaster
from helpdesk_shared.events.ticket import CommentAdded, Visibility
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.envelope import (
    ReceivedEvent,
    parse_envelope,
    to_cloudevent_message,
)
from helpdesk_shared.messaging.topology import ConsumerQueue, delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import eventually
from helpdesk_testkit.upcasting import schema_bumped

TICKET = uuid.uuid4()
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EXPECTED = CommentAdded(
    ticket_id=TICKET, occurred_at=AT, text="Toujours en panne", visibility=Visibility.PUBLIC,
    by="alice",
)  # fmt: skip


def _from_version_1(data: dict[str, object]) -> dict[str, object]:
    body = {k: v for k, v in data.items() if k != "body"}
    return {**body, "text": data["body"], "visibility": "public"}


@pytest.fixture
def comments_at_version_2() -> Iterator[None]:
    with schema_bumped(CommentAdded, _from_version_1):
        yield


@pytest.fixture
async def stored(fresh_database_url: str) -> AsyncIterator[tuple[AsyncEngine, RecordedEvent]]:
    """The old body, stored raw at schema version 1 in a database of its own."""
    engine = create_engine(fresh_database_url, pool_size=3, application_name="upcasting-tests")
    store = EventStore(engine)
    old = {"ticket_id": str(TICKET), "occurred_at": AT.isoformat(),
           "body": "Toujours en panne", "by": "alice"}  # fmt: skip
    stream = f"ticket-{TICKET}"
    await store.append(stream, ExpectedVersion.NO_STREAM, [NewEvent("CommentAdded", old, 1)])
    try:
        [recorded] = await store.read_stream(stream)
        assert recorded.schema_version == 1
        assert "body" in recorded.data  # stored as it was, upcast only on read
        yield engine, recorded
    finally:
        await engine.dispose()


async def test_the_stream_read_upcasts(
    comments_at_version_2: None, stored: tuple[AsyncEngine, RecordedEvent]
) -> None:
    engine, _ = stored
    [again] = await EventStore(engine).read_stream(f"ticket-{TICKET}")
    assert again.to_domain() == EXPECTED


async def test_the_relays_cloudevent_keeps_the_version_and_the_reader_upcasts(
    comments_at_version_2: None, stored: tuple[AsyncEngine, RecordedEvent]
) -> None:
    _, recorded = stored
    message = to_cloudevent_message(recorded, "helpdesk-test")
    received = parse_envelope(message.body, message.content_type, message.headers)
    assert received.schema_version == 1
    assert received.data == recorded.data
    assert received.to_domain() == EXPECTED


async def test_a_consumer_fed_by_the_relay_gets_the_current_shape(
    comments_at_version_2: None,
    stored: tuple[AsyncEngine, RecordedEvent],
    amqp_url: str,
    exchange_name: str,
    queue_prefix: str,
) -> None:
    engine, _ = stored
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix, name = f"{exchange_name}.up{suffix}", f"{queue_prefix}.up{suffix}", "upcast"
    seen: list[object] = []

    async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
        seen.append(event.to_domain())

    consumer = Consumer(
        name=name, engine=engine, amqp_url=amqp_url, exchange=exchange, queue_prefix=prefix,
        handler=handle, max_attempts=1, reconnect_interval=0.1,
    )  # fmt: skip
    relay = Relay(
        engine=engine, amqp_url=amqp_url, exchange=exchange, queue_prefix=prefix,
        source="helpdesk-test", consumers=[ConsumerQueue(name)], retry_seconds=0.05,
    )  # fmt: skip
    try:
        await consumer.start()
        published = 0

        async def all_published() -> bool:
            # The log shows an event once older than every transaction running on the cluster.
            nonlocal published
            published += await relay.publish_pending()
            return published == 1

        await eventually(all_published, what="the relay published the stored event")
        await eventually(lambda: consumer.handled == 1, what="the consumer handled the event")
        assert seen == [EXPECTED]
    finally:
        await relay.stop()
        await consumer.stop()
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await delete_topology(
                channel, exchange=exchange, queue_prefix=prefix, consumers=[ConsumerQueue(name)]
            )


async def test_without_its_upcaster_the_old_body_is_refused_by_name(
    stored: tuple[AsyncEngine, RecordedEvent],
) -> None:
    engine, recorded = stored
    with schema_bumped(CommentAdded):
        [again] = await EventStore(engine).read_stream(f"ticket-{TICKET}")
        with pytest.raises(MissingUpcaster, match="CommentAdded from schema version 1 to 2"):
            again.to_domain()
        message = to_cloudevent_message(recorded, "helpdesk-test")
        received = parse_envelope(message.body, message.content_type, message.headers)
        with pytest.raises(MissingUpcaster, match="CommentAdded from schema version 1 to 2"):
            received.to_domain()
