"""The broker topology: one topic exchange, a quorum queue and a dead-letter queue per consumer.

Each consuming service declares its own queue (`ConsumerQueue`: name and bindings, in its
`entrypoints/consumer.py`) and the consumer declares it when it starts. The relay declares the
queues it is told about (`RELAY_CONSUMERS`, which the deployment fills from those declarations)
before it publishes anything: a confirmed message that no queue receives is lost for the consumers
that did not exist yet. Both declare exactly the same arguments, since RabbitMQ refuses a
re-declaration with different ones.

A consumer's queue has a single active consumer (`x-single-active-consumer`): with several replicas
of a service, all of them subscribe but the broker delivers to one only, in queue order; the
others are hot standbys, and the first of them takes over (with the unacknowledged messages,
redelivered first) as soon as the active one's channel closes. That is what keeps the events of a
stream in order across replicas (docs/reliability.md). A queue declared before that argument
existed cannot be re-declared with it (RabbitMQ answers PRECONDITION_FAILED and closes the
channel): `declare_consumer_queues` then uses the queue as it is and logs how to migrate it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsumerQueue:
    """A consuming service's queue `{prefix}.{name}` and the routing keys it binds."""

    name: str
    bindings: tuple[str, ...] = ("#",)


#: After this many deliveries (crashes, lost connections, requeues) the broker dead-letters a
#: message itself. Consumers retry in-process first, so this is only a safety net against a
#: message that kills its consumer (on RabbitMQ 3.10 quorum queues there is no default limit).
DELIVERY_LIMIT = 10


def queue_name(prefix: str, consumer: str) -> str:
    """The consumer's work queue."""
    return f"{prefix}.{consumer}"


def dead_letter_queue_name(prefix: str, consumer: str) -> str:
    """Where the consumer's messages go when they keep failing."""
    return f"{prefix}.{consumer}.dlq"


def dead_letter_exchange_name(exchange: str) -> str:
    """The direct exchange routing dead letters to each consumer's DLQ (by the DLQ's name)."""
    return f"{exchange}.dlx"


def queue_arguments(exchange: str, queue_prefix: str, consumer: str) -> dict[str, Any]:
    """Arguments of a consumer's quorum queue (identical wherever it is declared)."""
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": dead_letter_exchange_name(exchange),
        "x-dead-letter-routing-key": dead_letter_queue_name(queue_prefix, consumer),
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-single-active-consumer": True,
    }


#: The DLQ is a classic durable queue: peeking at it (get, then requeue) must never count towards a
#: delivery limit (RabbitMQ 4 gives quorum queues a default one, which would drop dead letters).
DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "classic"}


async def declare_topology(
    channel: AbstractChannel,
    *,
    exchange: str,
    queue_prefix: str,
    consumers: Sequence[ConsumerQueue] = (),
) -> AbstractExchange:
    """Declare the exchange and, for each consumer, its queue (with its bindings) and DLQ."""
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    for consumer in consumers:
        await declare_consumer_queues(
            channel,
            exchange=exchange,
            queue_prefix=queue_prefix,
            consumer=consumer.name,
            bindings=consumer.bindings,
        )
    return topic


async def declare_consumer_queues(
    channel: AbstractChannel,
    *,
    exchange: str,
    queue_prefix: str,
    consumer: str,
    bindings: Sequence[str] = ("#",),
) -> AbstractQueue:
    """Declare one consumer's queue, bindings, dead-letter exchange and DLQ; return the queue."""
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(
        dead_letter_exchange_name(exchange), aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq_name = dead_letter_queue_name(queue_prefix, consumer)
    dlq = await channel.declare_queue(dlq_name, durable=True, arguments=DEAD_LETTER_QUEUE_ARGUMENTS)
    await dlq.bind(dlx, routing_key=dlq_name)
    queue = await _declare_work_queue(channel, exchange, queue_prefix, consumer)
    for binding in bindings:
        await queue.bind(topic, routing_key=binding)
    return queue


async def _declare_work_queue(
    channel: AbstractChannel, exchange: str, queue_prefix: str, consumer: str
) -> AbstractQueue:
    """The consumer's quorum queue; one declared with older arguments is used as it is.

    Every message stays where it is, so nothing is lost, but without a single active consumer
    several replicas would share its messages: run one replica of the service until the queue is
    migrated (docs/operations.md, "Migrating a consumer queue").
    """
    name = queue_name(queue_prefix, consumer)
    arguments = queue_arguments(exchange, queue_prefix, consumer)
    try:
        return await channel.declare_queue(name, durable=True, arguments=arguments)
    except aio_pika.exceptions.ChannelPreconditionFailed as refused:
        log.warning(
            "queue %s exists with other arguments (%s): using it as it is; it has no single"
            " active consumer, so run one replica of its service until it is migrated"
            " (docs/operations.md)",
            *(name, refused),
        )
    if channel.is_closed:  # the broker closes the channel that asked
        await channel.reopen()
    return await channel.declare_queue(name, passive=True)


async def delete_topology(
    channel: AbstractChannel,
    *,
    exchange: str,
    queue_prefix: str,
    consumers: Sequence[ConsumerQueue | str] = (),
) -> None:
    """Delete the exchanges and the given consumers' queues (tests and tear-downs; never in
    production)."""
    for queue in consumers:
        consumer = queue if isinstance(queue, str) else queue.name
        for name in (
            queue_name(queue_prefix, consumer),
            dead_letter_queue_name(queue_prefix, consumer),
        ):
            await channel.queue_delete(name)
    await channel.exchange_delete(dead_letter_exchange_name(exchange))
    await channel.exchange_delete(exchange)


def topic_matches(binding: str, routing_key: str) -> bool:
    """Whether a topic binding (`*` one word, `#` zero or more words) matches a routing key."""
    return _match_words(binding.split("."), routing_key.split("."))


def _match_words(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match_words(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _match_words(rest, words[1:])
