"""The consumer toolkit: a service's durable queue, handled with an exactly-once effect.

Delivery is at least once (the relay republishes what it could not checkpoint, the broker
redelivers what was not acknowledged). The effect is exactly once: the event id goes into
`infra.inbox` in the same transaction as the handler's own writes, so a redelivered event finds
its id there and is skipped. The message is acknowledged only after that transaction committed.

A failing handler is retried in-process, waiting the delays of the system's retry policy
(exponential back-off with full jitter and a cap, `helpdesk_shared.retry`); after `max_attempts` the
message is parked in the consumer's dead-letter queue with the reason (`parking.py`). A message
that can never succeed (not one of our CloudEvents, unknown type) is parked at once. Nothing a
message does stops the consumer. Events of one stream are handled one after the other, in
delivery order (`stream_order.py`).

With `batch_size` 1 each delivery has its own transaction and different streams are handled
concurrently, up to `prefetch`. With a larger `batch_size` the deliveries already prefetched are
handled in batches, each in one transaction and acknowledged at once (the batch mode,
`batches.py`); a batch that fails is rolled back and its deliveries are handled one by one as with
`batch_size` 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.logging import correlation_id
from helpdesk_shared.messaging.batches import (
    STOP,
    BatchHandler,
    BatchMode,
    ClaimedMeanwhile,
    one_at_a_time,
)
from helpdesk_shared.messaging.consumer_connection import (
    ConsumerConnection,
    start_when_broker_answers,
)
from helpdesk_shared.messaging.consumer_metrics import LagHistogram, seconds_since
from helpdesk_shared.messaging.envelope import (
    InvalidEventMessage,
    ReceivedEvent,
    from_amqp_message,
)
from helpdesk_shared.messaging.parking import DeadLetterParking
from helpdesk_shared.messaging.stream_order import StreamLocks
from helpdesk_shared.messaging.topology import (
    topic_matches,
)
from helpdesk_shared.retry import RetryPolicy
from helpdesk_shared.telemetry import SpanKind, context_from, span

EventHandler = Callable[[ReceivedEvent, AsyncConnection], Awaitable[None]]

log = logging.getLogger(__name__)

_CLAIM = text(
    """INSERT INTO infra.inbox (consumer, event_id, event_type)
    VALUES (:consumer, :event_id, :event_type)
    ON CONFLICT DO NOTHING
    RETURNING event_id"""
)


_HANDLED = text("SELECT 1 FROM infra.inbox WHERE consumer = :consumer AND event_id = :event_id")


class Consumer(BatchMode):
    """Durable quorum queue `{prefix}.{name}` bound to the exchange with `bindings`.

    See the module docs for the delivery guarantees. `batch_size` deliveries at most are handled
    per transaction (1: each alone); `batch_handler`, when given, handles a batch's fresh events
    at once (the same effect as `handler` on each in turn, in fewer statements), `handler` alone
    otherwise and after a failed batch; `batches_in_flight` batches may run at once.
    """

    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        handler: EventHandler,
        bindings: Sequence[str] = ("#",),
        prefetch: int = 32,
        batch_size: int = 1,
        batch_handler: BatchHandler | None = None,
        batches_in_flight: int = 2,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 30.0,
        reconnect_interval: float = 5.0,
        publish_timeout: float = 10.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = name
        self._engine = engine
        self._exchange = exchange
        self._handler = handler
        self._bindings = tuple(bindings)
        self._broker = ConsumerConnection(
            name=name,
            amqp_url=amqp_url,
            exchange=exchange,
            queue_prefix=queue_prefix,
            bindings=bindings,
            # room for the next batch to arrive while one is handled
            prefetch=max(prefetch, 2 * batch_size) if batch_size > 1 else prefetch,
            reconnect_interval=reconnect_interval,
        )
        self._batch_size = batch_size
        self._batches_in_flight = max(1, batches_in_flight)
        self._handle_batch = batch_handler or one_at_a_time(handler)
        self._waiting: asyncio.Queue[object] = asyncio.Queue()
        self._batches: asyncio.Task[None] | None = None
        self._max_attempts = max_attempts
        #: The waits between a failing handler's attempts.
        self.retry_policy = RetryPolicy(
            initial=min(backoff_seconds, max_backoff_seconds),
            maximum=max_backoff_seconds,
            max_attempts=max_attempts,
        )
        #: How the consumer waits (a test puts a recorder here).
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._parking = DeadLetterParking(name, exchange, queue_prefix, publish_timeout)
        self._consumer_tag: str | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stream_locks = StreamLocks()
        #: Counters for tests and metrics (`consumer_metrics.py`): handled (committed), duplicates
        #: (skipped thanks to the inbox), retried (failed attempts tried again), dead-lettered,
        #: ignored (not matching `bindings`); the lag from recording to handling.
        self.handled = 0
        self.duplicates = 0
        self.retried = 0
        self.dead_lettered = 0
        self.ignored = 0
        self.lag = LagHistogram()

    async def start_when_broker_answers(self, max_delay: float = 10.0) -> None:
        """Start consuming, retrying while the broker is unreachable.

        For a service's lifespan: the HTTP side comes up at once and `/readyz` reports the
        broker as unavailable until this returns.
        """
        await start_when_broker_answers(
            self.name, self.start, self.stop, max_delay=max_delay, sleep=self._sleep
        )

    async def start(self) -> None:
        """Declare the queue and its DLQ (same arguments as the relay's), then consume."""
        queue = await self._broker.open()
        if self._batch_size > 1:
            self._waiting = asyncio.Queue()
            self._batches = asyncio.create_task(self._run_batches())
        self._consumer_tag = await queue.consume(self._on_message)

    async def stop(self) -> None:
        """Stop consuming, let the messages being handled finish, close the connection."""
        queue = self._broker.queue
        if queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
                await queue.cancel(self._consumer_tag)
        self._consumer_tag = None
        if self._batches is not None:
            self._waiting.put_nowait(STOP)
            await asyncio.gather(self._batches, return_exceptions=True)
            self._batches = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._broker.close()

    async def ready(self) -> None:
        """Raise if the broker connection is down (used by `/readyz`)."""
        self._broker.check()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._batches is not None:
            self._waiting.put_nowait(message)
            return
        await self._settle_alone(message)

    async def _settle_alone(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._process(message)
        except Exception:
            log.exception("consumer %s could not settle message %s", self.name, message.message_id)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        if not self._wanted(message):
            self.ignored += 1
            await message.ack()
            return
        try:
            event = from_amqp_message(message)
        except InvalidEventMessage as poison:
            log.warning("consumer %s: poison message %s: %s", self.name, message.message_id, poison)
            await self._dead_letter(message, f"poison: {poison}", attempts=0)
            return
        token = correlation_id.set(str(event.metadata.get("correlation_id") or event.event_id))
        try:
            with span(
                f"consume {self.name}",
                kind=SpanKind.CONSUMER,
                parent=context_from(event.metadata),
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.consumer.group.name": self.name,
                    "messaging.message.id": str(event.event_id),
                    "cloudevents.event_type": event.type,
                },
            ):
                async with self._stream_locks.hold(event.stream_id):
                    await self._handle_with_retries(message, event)
        finally:
            correlation_id.reset(token)

    def _wanted(self, message: AbstractIncomingMessage) -> bool:
        """Whether a message from the exchange matches this consumer's own bindings.

        A queue may hold bindings its consumer no longer declares (a deployment whose relay
        was configured with other bindings, or `#` as it once was): what they bring in is
        acknowledged and ignored here. Messages that did not come through the exchange (replays
        from the dead-letter queue) are always wanted.
        """
        if message.exchange != self._exchange:
            return True
        key = message.routing_key or ""
        return any(topic_matches(binding, key) for binding in self._bindings)

    async def _handle_with_retries(
        self, message: AbstractIncomingMessage, event: ReceivedEvent
    ) -> None:
        waits = self.retry_policy.delays()
        for attempt in range(1, self._max_attempts + 1):
            try:
                fresh = await self._apply(event)
            except Exception as error:  # noqa: BLE001 - a failing handler is retried, then parked
                log.warning(
                    "consumer %s: %s %s failed (attempt %d/%d): %r",
                    *(self.name, event.type, event.event_id, attempt, self._max_attempts, error),
                )
                if attempt == self._max_attempts:
                    await self._dead_letter(message, f"{type(error).__name__}: {error}", attempt)
                    return
                self.retried += 1
                await self._sleep(next(waits))
                continue
            if fresh:
                self.handled += 1
                self.lag.observe(seconds_since(event.recorded_at))
            else:
                self.duplicates += 1
            await message.ack()
            return

    async def _apply(self, event: ReceivedEvent) -> bool:
        """Run the handler and claim the event in the inbox, in one transaction.

        False when the event was already handled (a redelivery): nothing is run. The claim is
        written last: a transaction holds back every reader of the event log from its first
        write on (they read below the oldest writing transaction), so a handler that first talks
        to a slow server (SMTP) must not do so from inside an already-writing transaction.
        """
        params = {"consumer": self.name, "event_id": event.event_id, "event_type": event.type}
        try:
            async with self._engine.begin() as conn:
                if (await conn.execute(_HANDLED, params)).first() is not None:
                    return False
                await self._handler(event, conn)
                if (await conn.execute(_CLAIM, params)).first() is None:
                    raise ClaimedMeanwhile()
        except ClaimedMeanwhile:
            return False  # a concurrent delivery of the same event won: ours is rolled back
        return True

    async def _dead_letter(
        self, message: AbstractIncomingMessage, reason: str, attempts: int
    ) -> None:
        """Park the message in the DLQ with the reason (`parking.py`)."""
        self.dead_lettered += 1
        await self._parking.park(self._broker.channel, message, reason, attempts)
