"""The declared topology itself: quorum queues whose broker-side delivery limit dead-letters."""

import uuid

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from helpdesk_shared.messaging.dead_letters import list_dead_letters
from helpdesk_shared.messaging.topology import (
    DELIVERY_LIMIT,
    ConsumerQueue,
    dead_letter_queue_name,
    declare_topology,
    delete_topology,
    queue_name,
)
from helpdesk_testkit.broker import eventually, publish_events, synthetic_event

NOTIFY = ConsumerQueue("notify", ("ticket.#",))


async def test_a_message_redelivered_past_the_limit_is_dead_lettered_by_the_broker(
    amqp_url: str, exchange_name: str, queue_prefix: str
) -> None:
    """What saves a consumer that crashes on a message: the broker parks it after N deliveries."""
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.{suffix}", f"{queue_prefix}.{suffix}"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        # Declaring twice with the same arguments is what the relay and each consumer do.
        for _ in range(2):
            await declare_topology(
                channel, exchange=exchange, queue_prefix=prefix, consumers=[NOTIFY]
            )
        event = synthetic_event()
        await publish_events(amqp_url, exchange, [event], "ticket.escalated")
        queue = await channel.get_queue(queue_name(prefix, "notify"))

        dlq = await channel.get_queue(dead_letter_queue_name(prefix, "notify"))
        deliveries = 0

        async def bounce(message: AbstractIncomingMessage) -> None:
            nonlocal deliveries
            deliveries += 1
            await message.nack(requeue=True)  # as if the consumer died holding it

        async def parked_by_the_broker() -> bool:
            declared = await dlq.declare()  # refreshes the message count
            return bool(declared.message_count)

        # Consumed, not fetched: a queue with a single active consumer refuses `basic.get`.
        tag = await queue.consume(bounce)
        await eventually(parked_by_the_broker, what="the broker to dead-letter the message")
        await queue.cancel(tag)
        assert DELIVERY_LIMIT <= deliveries <= DELIVERY_LIMIT + 1
        letters: list[object] = []

        async def parked() -> bool:
            letters[:] = await list_dead_letters(amqp_url, prefix, "notify")
            return bool(letters)

        await eventually(parked, what="the message in the DLQ")
        [letter] = letters
        assert letter.message_id == str(event.event_id)  # type: ignore[attr-defined]
        assert letter.reason == "delivery_limit"  # type: ignore[attr-defined]
    finally:
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix, consumers=[NOTIFY])
        await connection.close()
