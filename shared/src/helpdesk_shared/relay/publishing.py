"""Publishing a batch of stored events to the topic exchange, for the relay.

Each event goes out as a CloudEvents message (`messaging/envelope.py`) under its routing key,
with publisher confirms and a timeout on each publish, since a publish on a dropped connection can
otherwise hang. The envelope is written around the body's stored JSON text (`OutgoingEvent`) and
published with its AMQP properties built directly on the channel underneath aio-pika's (whose
`Message` would convert and check every property again): the relay's cost per event.

A batch's publishes all start in store order before any confirm is awaited: the channel writes
them under a FIFO lock, so the broker still receives them in store order while their confirms are
awaited together. With tracing on, each publish is a span of the trace the event was appended in,
and the message carries that span's context for the consumer to continue.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.eventstore.model import LogPosition
from helpdesk_shared.eventstore.outgoing import OutgoingEvent
from helpdesk_shared.messaging.envelope import outgoing_properties, spliced_body
from helpdesk_shared.messaging.topology import ConsumerQueue, declare_topology
from helpdesk_shared.telemetry import SpanKind, context_from, span, trace_context, tracing


@dataclass
class PublishingBatch:
    """A batch whose publishes are under way: where it ends and the publishes to confirm."""

    last: LogPosition
    last_recorded_at: datetime
    publishes: Sequence[asyncio.Future[Any]]

    def cancel(self) -> None:
        for publish in self.publishes:
            publish.cancel()


class BatchPublisher:
    """The relay's broker side: its connection, the declared topology and the publishes.

    `consumers` are the queues declared (with their bindings) on connecting, before the first
    publish.
    """

    def __init__(
        self,
        *,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        source: str,
        consumers: Sequence[ConsumerQueue],
        publish_timeout: float,
    ) -> None:
        self._amqp_url = amqp_url
        self._exchange_name = exchange
        self._queue_prefix = queue_prefix
        self._source = source
        self._consumers = tuple(consumers)
        self._publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        #: The AMQP channel under `_channel`, which the publishes go to directly.
        self._underlay: aiormq.abc.AbstractChannel | None = None

    def open_exchange(self) -> AbstractExchange | None:
        """The exchange to publish to while the channel is open; None when it must reconnect."""
        if self._exchange is not None and self._channel and not self._channel.is_closed:
            return self._exchange
        return None

    async def connect(self) -> AbstractExchange:
        """Connect, open a confirming channel and declare the topology; the exchange."""
        self._connection = await aio_pika.connect(
            self._amqp_url,
            timeout=self._publish_timeout,
            client_properties={"connection_name": f"helpdesk-relay {self._exchange_name}"},
        )
        channel = self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await declare_topology(
            channel,
            exchange=self._exchange_name,
            queue_prefix=self._queue_prefix,
            consumers=self._consumers,
        )
        self._underlay = await channel.get_underlay_channel()
        return self._exchange

    def detach(self) -> AbstractConnection | None:
        """Forget the connection, its channel and exchange; the connection, for the caller to
        close."""
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        self._underlay = None
        return connection

    def start(self, batch: list[OutgoingEvent]) -> PublishingBatch:
        """Start publishing a batch, in store order, without waiting for the confirms.

        The publishes start in order and the channel writes them under a FIFO lock, so the
        broker receives them in store order while their confirms are awaited together.
        """
        channel = self._underlay
        if channel is None:
            raise aiormq.exceptions.ChannelInvalidStateError("the relay is not connected")
        publish = self._publish_traced if tracing() else self._publish
        publishes = [asyncio.ensure_future(publish(channel, event)) for event in batch]
        return PublishingBatch(batch[-1].log_position, batch[-1].recorded_at, publishes)

    def _publish(self, channel: aiormq.abc.AbstractChannel, event: OutgoingEvent) -> Awaitable[Any]:
        return channel.basic_publish(
            spliced_body(event, self._source),
            exchange=self._exchange_name,
            routing_key=routing_key_for(event.category, event.type),
            properties=outgoing_properties(event, self._source),
            mandatory=False,
            timeout=self._publish_timeout,
        )

    async def _publish_traced(
        self, channel: aiormq.abc.AbstractChannel, event: OutgoingEvent
    ) -> Any:
        """The publish as a span of the trace the event was appended in, until its confirm; the
        message carries this span's trace context, the consumer's span continues from it."""
        attributes = {
            "messaging.system": "rabbitmq",
            "messaging.destination.name": self._exchange_name,
            "messaging.message.id": event.event_id,
            "eventstore.stream_id": event.stream_id,
        }
        parent = context_from(event.metadata.to_json())
        with span("relay.publish", kind=SpanKind.PRODUCER, parent=parent, attributes=attributes):
            traced = trace_context()
            metadata = dataclasses.replace(
                event.metadata,
                traceparent=traced.get("traceparent"),
                tracestate=traced.get("tracestate"),
            )
            return await self._publish(channel, event._replace(metadata=metadata))
