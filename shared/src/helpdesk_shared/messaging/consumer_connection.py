"""A consumer's connection to the broker, from its start to its stop.

The connection is robust: aio-pika reconnects it by itself (every `reconnect_interval`) and
restores the channel, its prefetch and the consumption, so a broker restart needs nothing from
the consumer; `/readyz` reports the broker unavailable meanwhile. The channel confirms what is
published on it (the dead letters). Starting declares the queue and its DLQ with the same
arguments as the relay's. A service starting before the broker answers keeps trying, waiting the
delays of a `RetryPolicy`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue, AbstractRobustConnection

from helpdesk_shared.messaging.topology import declare_consumer_queues
from helpdesk_shared.retry import RetryPolicy, retrying

#: The consumer's logger: its warnings come under one name, whichever module of it logs them.
log = logging.getLogger("helpdesk_shared.messaging.consumer")


class ConsumerConnection:
    """The robust connection, confirming channel and declared queue of consumer `name`."""

    def __init__(
        self,
        *,
        name: str,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        bindings: Sequence[str],
        prefetch: int,
        reconnect_interval: float,
    ) -> None:
        self._name = name
        self._amqp_url = amqp_url
        self._exchange = exchange
        self._queue_prefix = queue_prefix
        self._bindings = tuple(bindings)
        self._prefetch = prefetch
        self._reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self.channel: AbstractChannel | None = None
        self.queue: AbstractQueue | None = None

    async def open(self) -> AbstractQueue:
        """Connect, open the channel and declare the queue and its DLQ; the queue."""
        self._connection = await aio_pika.connect_robust(
            self._amqp_url,
            client_properties={"connection_name": f"helpdesk-consumer {self._name}"},
            reconnect_interval=self._reconnect_interval,
        )
        self.channel = await self._connection.channel(publisher_confirms=True)
        await self.channel.set_qos(prefetch_count=self._prefetch)
        self.queue = await declare_consumer_queues(
            self.channel,
            exchange=self._exchange,
            queue_prefix=self._queue_prefix,
            consumer=self._name,
            bindings=self._bindings,
        )
        return self.queue

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self.channel = self.queue = None

    def check(self) -> None:
        """Raise if the connection is down or reconnecting."""
        connection = self._connection
        if connection is None or connection.is_closed:
            raise ConnectionError(f"consumer {self._name} is not connected")
        if not connection.connected.is_set():
            raise ConnectionError(f"consumer {self._name} is reconnecting to the broker")


async def start_when_broker_answers(
    name: str,
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    max_delay: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """`start`, retrying while the broker is unreachable (after `stop`ping what came up)."""

    async def stop_before_retrying(error: BaseException, delay: float) -> None:
        log.warning("consumer %s cannot start yet (%r); retrying in %.1fs", name, error, delay)
        with contextlib.suppress(OSError, aio_pika.exceptions.AMQPError, RuntimeError):
            await stop()

    policy = RetryPolicy(initial=min(0.5, max_delay), maximum=max_delay)
    await retrying(
        start,
        policy,
        on=(OSError, aio_pika.exceptions.AMQPError),
        before_wait=stop_before_retrying,
        sleep=sleep,
    )
