"""The relay: publishes every stored event, in store order, to the topic exchange.

At least once, never lost: a batch is read from the checkpoint, published with publisher confirms
(each publish with a timeout, since a publish on a dropped connection can otherwise hang:
`publishing.py`), and the checkpoint advances only once the broker confirmed the whole batch.
Whatever was published but not checkpointed when something fails is published again; consumers'
inboxes make that harmless.

Only one relay publishes at a time, even with several replicas: the active one holds a PostgreSQL
advisory lock on a dedicated connection; the others wait and retry. If that connection dies, the
lock is gone and the relay steps down before another one takes over. Every wait (idle poll,
standby, after an error) is drawn from a `RetryPolicy`: exponential, capped, jittered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import aio_pika
import aiormq
import asyncpg
from aio_pika.abc import AbstractExchange
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.eventstore.model import LogPosition
from helpdesk_shared.eventstore.outgoing import read_outgoing
from helpdesk_shared.messaging.topology import ConsumerQueue
from helpdesk_shared.relay.backlog import backlog_after
from helpdesk_shared.relay.leadership import AdvisoryLock, LeadershipLost
from helpdesk_shared.relay.metrics import RelayMetrics
from helpdesk_shared.relay.publishing import BatchPublisher, PublishingBatch
from helpdesk_shared.retry import RetryPolicy

log = logging.getLogger(__name__)

_READ_CHECKPOINT = text("SELECT tx_id, global_position FROM infra.checkpoints WHERE name = :name")
# Monotonic: a late write from a relay that lost its lock can never move the checkpoint back.
_WRITE_CHECKPOINT = text(
    """INSERT INTO infra.checkpoints (name, tx_id, global_position, updated_at)
    VALUES (:name, :tx_id, :position, now())
    ON CONFLICT (name) DO UPDATE
    SET tx_id = EXCLUDED.tx_id, global_position = EXCLUDED.global_position, updated_at = now()
    WHERE (infra.checkpoints.tx_id, infra.checkpoints.global_position)
        < (EXCLUDED.tx_id, EXCLUDED.global_position)"""
)

#: At most one backlog measure per this many seconds while publishing.
_BACKLOG_INTERVAL = 1.0

#: Errors after which the relay drops its connections and starts over from its checkpoint.
_TRANSIENT = (
    aio_pika.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
    TimeoutError,
    ConnectionError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a session cut mid-operation (PostgreSQL restarted)
    DBAPIError,
)


class Relay:
    """Single active publisher of `eventstore.events` to the exchange (see the module docs).

    `consumers` are the queues declared (with their bindings) before the first publish, so that
    no event reaches the exchange before the queues of the services that consume it exist.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        amqp_url: str,
        exchange: str,
        queue_prefix: str,
        source: str = "helpdesk",
        batch_size: int = 500,
        pipeline_depth: int = 2,
        consumers: Sequence[ConsumerQueue] = (),
        publish_timeout: float = 10.0,
        min_poll_seconds: float = 0.005,
        max_poll_seconds: float = 0.25,
        retry_seconds: float = 1.0,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._exchange_name = exchange
        self._publisher = BatchPublisher(
            amqp_url=amqp_url,
            exchange=exchange,
            queue_prefix=queue_prefix,
            source=source,
            consumers=consumers,
            publish_timeout=publish_timeout,
        )
        self._batch_size = batch_size
        self._pipeline_depth = max(1, pipeline_depth)
        #: The confirmed position while this relay is connected (None: read the checkpoint).
        self._position: LogPosition | None = None
        #: Idle polls (half jitter: replicas out of step, quiet polls not doubled).
        self.poll_policy = RetryPolicy(min_poll_seconds, max_poll_seconds, jitter=0.5)
        #: Standby and after an error: `retry_seconds` is the longest wait.
        self.retry_policy = RetryPolicy(retry_seconds / 8, retry_seconds)
        #: The waits after consecutive errors (None: the last attempt published).
        self._failure_waits: Iterator[float] | None = None
        self.metrics = metrics or RelayMetrics()
        self._backlog_measured_at = float("-inf")
        self.checkpoint_name = f"relay:{exchange}"
        self._stopping = asyncio.Event()
        self._lock = AdvisoryLock(self._dsn(), self.checkpoint_name, check_timeout=publish_timeout)
        self.is_active = False
        self._running = False

    async def run(self) -> None:
        """Publish forever: become the active relay, catch up, follow the log; until `stop`."""
        self._running = True
        try:
            await self._run()
        finally:
            self._running = False

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not await self._acquire_leadership():
                    return
                try:
                    await self._follow()
                finally:
                    await self._release_leadership()
            except (*_TRANSIENT, LeadershipLost) as error:
                log.warning("relay interrupted, resuming from its checkpoint: %r", error)
                self._failure_waits = self._failure_waits or self.retry_policy.delays()
                await self._sleep(next(self._failure_waits))
            finally:
                await self._disconnect_broker()

    async def stop(self) -> None:
        """Ask `run` to return once the batch in flight is confirmed (or abandoned).

        Without `run` (after `publish_pending` calls), close the broker connection now.
        """
        self._stopping.set()
        if not self._running:
            await self._disconnect_broker()

    async def publish_pending(self) -> int:
        """One catch-up pass from the checkpoint to the end of the log; the count published.

        Batches are pipelined: while the broker confirms one batch, the next is read, built and
        sent (on the same channel, so still in store order). Checkpoints still advance batch by
        batch, each only after all of its confirms. Connects on first use. It does not take the
        advisory lock: `run` does, before calling it.
        """
        await self._ensure_exchange()
        position = self._position or await self.checkpoint()
        published = 0
        in_flight: deque[PublishingBatch] = deque()
        try:
            while True:
                batch = await read_outgoing(self._engine, position, self._batch_size)
                if batch:
                    position = batch[-1].log_position
                    in_flight.append(self._publisher.start(batch))
                finished = len(batch) < self._batch_size
                while len(in_flight) > (0 if finished else self._pipeline_depth - 1):
                    published += await self._settle(in_flight.popleft())
                if finished:
                    return published
        finally:
            for pending in in_flight:
                pending.cancel()

    async def checkpoint(self) -> LogPosition:
        """Where the relay resumes: after the last event the broker confirmed."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_READ_CHECKPOINT, {"name": self.checkpoint_name})).first()
        return LogPosition(int(row.tx_id), int(row.global_position)) if row else LogPosition.start()

    async def _follow(self) -> None:
        """Publish what is pending, then poll with a back-off that resets after each append."""
        waits = self.poll_policy.delays()
        while not self._stopping.is_set():
            published = await self.publish_pending()
            self._failure_waits = None
            if published:
                waits = self.poll_policy.delays()
                continue
            self.metrics.lag_seconds.set(0)
            self.metrics.events_behind.set(0)
            self.metrics.oldest_unpublished_age.set(0)
            await self._check_leadership()
            await self._sleep(next(waits))

    async def _settle(self, batch: PublishingBatch) -> int:
        """Wait for every confirm of a batch (a nack raises DeliveryError), then checkpoint it."""
        try:
            await asyncio.gather(*batch.publishes)
        finally:
            batch.cancel()
        await self._check_leadership()
        await self._save_checkpoint(batch.last)
        self._position = batch.last
        self.metrics.published.inc(len(batch.publishes))
        self.metrics.last_position.set(batch.last.global_position)
        age = (datetime.now(UTC) - batch.last_recorded_at).total_seconds()
        self.metrics.lag_seconds.set(max(age, 0.0))
        now = time.monotonic()
        if now - self._backlog_measured_at >= _BACKLOG_INTERVAL:
            self._backlog_measured_at = now
            await self.measure_backlog(batch.last)
        return len(batch.publishes)

    async def measure_backlog(self, position: LogPosition) -> None:
        """Set the backlog gauges: what the store holds after `position` (while publishing, the
        relay measures after a confirmed batch, at most every `_BACKLOG_INTERVAL` seconds)."""
        behind, oldest = await backlog_after(self._engine, position)
        self.metrics.events_behind.set(behind)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        self.metrics.oldest_unpublished_age.set(max(age, 0.0))

    async def _save_checkpoint(self, position: LogPosition) -> None:
        params = {
            "name": self.checkpoint_name,
            "tx_id": position.tx_id,
            "position": position.global_position,
        }
        async with self._engine.begin() as conn:
            await conn.execute(_WRITE_CHECKPOINT, params)

    async def _ensure_exchange(self) -> AbstractExchange:
        exchange = self._publisher.open_exchange()
        if exchange is not None:
            return exchange
        await self._disconnect_broker()
        return await self._publisher.connect()

    async def _acquire_leadership(self) -> bool:
        """Wait until this relay holds the advisory lock; False if stopped meanwhile."""
        waits = self.retry_policy.delays()
        while not await self._lock.try_acquire():
            if self._stopping.is_set():
                await self._lock.release()
                return False
            await self._sleep(next(waits))
        self.is_active = True
        self.metrics.active.set(1)
        log.info("relay active for exchange %s", self._exchange_name)
        return True

    async def _release_leadership(self) -> None:
        self.is_active = False
        self.metrics.active.set(0)
        await self._lock.release()

    async def _check_leadership(self) -> None:
        """Raise `LeadershipLost` if the lock's connection is gone (the lock went with it)."""
        if self.is_active:  # else publish_pending was called directly (tests, one-off catch-up)
            await self._lock.check()

    def _dsn(self) -> str:
        return asyncpg_dsn(self._engine.url.render_as_string(hide_password=False))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _disconnect_broker(self) -> None:
        connection = self._publisher.detach()
        self._position = None
        if connection is not None:
            with contextlib.suppress(*_TRANSIENT, RuntimeError):
                await connection.close()
