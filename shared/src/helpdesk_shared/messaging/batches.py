"""A batch of deliveries handled in one transaction, with the inbox claimed for all at once.

One transaction per delivery costs a round of statements and a commit (a WAL flush) per event;
the consumer spends most of its time there, not in the handler. A batch pays that once: one
statement finds which of the batch's events were already handled, the handler runs for each
fresh event in delivery order (each sees the writes of the ones before it, in the same
transaction), and one multi-row INSERT claims every fresh event id at the end. The claim is still
written last, for the reason `Consumer._apply` gives (a slow handler must not hold back the
readers of the event log from inside an already-writing transaction).

Anything failing rolls the whole batch back; the consumer then handles its deliveries one by one
(with retries and dead-lettering), so one bad event neither blocks nor parks its neighbours.

The batch mode (`batch_size` above 1) takes the deliveries already prefetched as a batch and
acknowledges it by one `ack(multiple=True)` on its last delivery. Up to `batches_in_flight`
batches run at once when they share no stream (a batch holding a stream's earlier events is
awaited first); each acks only once the batch before it is settled, so every earlier delivery on
the channel is settled when its multiple ack goes out.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Text

from helpdesk_shared.logging import correlation_id
from helpdesk_shared.messaging.consumer_metrics import LagHistogram, seconds_since
from helpdesk_shared.messaging.envelope import InvalidEventMessage, ReceivedEvent, from_amqp_message
from helpdesk_shared.telemetry import SpanKind, context_from, span

#: A handler of several events at once, in delivery order, in the consumer's transaction: the
#: same effect as the one-event handler run for each in turn, in fewer statements.
BatchHandler = Callable[[Sequence[ReceivedEvent], AsyncConnection], Awaitable[None]]

_HANDLED_ANY = text(
    "SELECT event_id FROM infra.inbox WHERE consumer = :consumer AND event_id = ANY(:event_ids)"
).bindparams(bindparam("event_ids", type_=ARRAY(UUID(as_uuid=True))))

_CLAIM_ALL = text(
    """INSERT INTO infra.inbox (consumer, event_id, event_type)
    SELECT :consumer, claimed.event_id, claimed.event_type
    FROM unnest(:event_ids, :event_types) AS claimed(event_id, event_type)
    ON CONFLICT DO NOTHING
    RETURNING event_id"""
).bindparams(
    bindparam("event_ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("event_types", type_=ARRAY(Text())),
)

#: The consumer's logger: its warnings come under one name, whichever module of it logs them.
log = logging.getLogger("helpdesk_shared.messaging.consumer")


class ClaimedMeanwhile(Exception):
    """Another delivery of an event of the batch committed its claim while the batch ran."""


async def apply_batch(
    engine: AsyncEngine,
    consumer: str,
    events: Sequence[ReceivedEvent],
    handle: BatchHandler,
) -> list[ReceivedEvent]:
    """Run `handle` on the batch's fresh events and claim them all, in one transaction.

    Returns the fresh events (first delivery of each id not in the inbox yet), in delivery
    order; the others are redeliveries, skipped. Raises `ClaimedMeanwhile` (after rolling back)
    when a concurrent delivery claimed one of them first, as any handler error does.
    """
    async with engine.begin() as conn:
        ids = [event.event_id for event in events]
        found = await conn.execute(_HANDLED_ANY, {"consumer": consumer, "event_ids": ids})
        seen: set[uuid.UUID] = set(found.scalars())
        fresh: list[ReceivedEvent] = []
        for event in events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                fresh.append(event)
        if not fresh:
            return []
        await handle(fresh, conn)
        claim = {
            "consumer": consumer,
            "event_ids": [event.event_id for event in fresh],
            "event_types": [event.type for event in fresh],
        }
        if len((await conn.execute(_CLAIM_ALL, claim)).all()) != len(fresh):
            raise ClaimedMeanwhile()
    return fresh


def one_at_a_time(
    handler: Callable[[ReceivedEvent, AsyncConnection], Awaitable[None]],
) -> BatchHandler:
    """A batch handler running the one-event handler for each event in turn."""

    async def handle(events: Sequence[ReceivedEvent], conn: AsyncConnection) -> None:
        for event in events:
            token = correlation_id.set(str(event.metadata.get("correlation_id") or event.event_id))
            try:
                await handler(event, conn)
            finally:
                correlation_id.reset(token)

    return handle


#: Put in the waiting deliveries by `stop`: the batches end after what came before it.
STOP = object()


async def next_batch(
    waiting: asyncio.Queue[object], size: int
) -> list[AbstractIncomingMessage] | None:
    """The deliveries already prefetched, up to `size`: what waits now, after one turn of the
    event loop to let the frames already read be dispatched. No linger, so a lone event at a
    low rate is handled at once. None once `STOP` is reached."""
    first = await waiting.get()
    if first is STOP:
        return None
    batch: list[AbstractIncomingMessage] = [first]  # type: ignore[list-item]
    for turn in range(2):
        while len(batch) < size and not waiting.empty():
            item = waiting.get_nowait()
            if item is STOP:
                waiting.put_nowait(STOP)  # seen again once this batch is settled
                return batch
            batch.append(item)  # type: ignore[arg-type]
        if len(batch) >= size or turn == 1:
            break
        await asyncio.sleep(0)
    return batch


class BatchMode:
    """The consumer's batch mode (`batch_size` above 1), see the module docs; mixed into
    `Consumer`, whose deliveries wait in `_waiting` and which settles a delivery alone."""

    name: str
    handled: int
    duplicates: int
    ignored: int
    lag: LagHistogram
    _engine: AsyncEngine
    _waiting: asyncio.Queue[object]
    _batch_size: int
    _batches_in_flight: int
    _handle_batch: BatchHandler

    async def _settle_alone(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery in its own transaction, with retries and dead-lettering."""
        raise NotImplementedError

    def _wanted(self, message: AbstractIncomingMessage) -> bool:
        """Whether the delivery matches the consumer's own bindings."""
        raise NotImplementedError

    async def _run_batches(self) -> None:
        """Settle the waiting deliveries batch after batch until `stop`.

        Up to `batches_in_flight` batches run at once (one waits on PostgreSQL while the next is
        handled) as long as they share no stream; each acknowledges only once the batch before it
        is settled, so the multiple ack never covers a delivery still being handled.
        """
        running: dict[asyncio.Task[None], frozenset[str]] = {}
        previous: asyncio.Task[None] | None = None
        while (batch := await next_batch(self._waiting, self._batch_size)) is not None:
            kept, events = await self._sort_out(batch)
            if not kept:
                continue
            streams = frozenset(event.stream_id for event in events)
            while running and (
                len(running) >= self._batches_in_flight
                or any(streams & other for other in running.values())
            ):
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            previous = asyncio.create_task(self._settle_batch(kept, events, previous))
            running[previous] = streams
            previous.add_done_callback(lambda done: running.pop(done, None))
        await asyncio.gather(*running, return_exceptions=True)

    async def _sort_out(
        self, batch: list[AbstractIncomingMessage]
    ) -> tuple[list[AbstractIncomingMessage], list[ReceivedEvent]]:
        """The deliveries the batch settles and the events among them; the poison is parked at
        once (acknowledged on its own), out of the batch."""
        kept: list[AbstractIncomingMessage] = []
        events: list[ReceivedEvent] = []
        for message in batch:
            if self._wanted(message):
                try:
                    events.append(from_amqp_message(message))
                except InvalidEventMessage:
                    await self._settle_alone(message)
                    continue
            kept.append(message)
        return kept, events

    async def _settle_batch(
        self,
        kept: list[AbstractIncomingMessage],
        events: list[ReceivedEvent],
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Handle the events in one transaction, then ack every kept delivery at once (after the
        batch before); on any failure, handle them one by one (own retries, dead-lettering)."""
        try:
            try:
                fresh = await self._apply_batch(events)
            except Exception as error:  # noqa: BLE001 - the deliveries are handled one by one
                log.warning(
                    "consumer %s: a batch of %d failed (%r); handling it one by one",
                    *(self.name, len(events), error),
                )
                await asyncio.gather(*(self._settle_alone(message) for message in kept))
                return
            for event in fresh:
                self.lag.observe(seconds_since(event.recorded_at))
            self.handled += len(fresh)
            self.duplicates += len(events) - len(fresh)
            self.ignored += len(kept) - len(events)
            if previous is not None:
                await asyncio.wait([previous])
            await kept[-1].ack(multiple=True)
        except Exception:
            log.exception("consumer %s could not settle a batch of %d", self.name, len(kept))

    async def _apply_batch(self, events: list[ReceivedEvent]) -> list[ReceivedEvent]:
        if not events:
            return []
        # A batch of one continues its message's trace, as the one-by-one path does; a larger
        # batch serves several traces: it links them (OpenTelemetry's messaging conventions).
        carried = [c for e in events if (c := context_from(e.metadata)) is not None]
        with span(
            f"consume {self.name}",
            kind=SpanKind.CONSUMER,
            parent=carried[0] if len(events) == 1 and carried else None,
            links=carried if len(events) > 1 else (),
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.consumer.group.name": self.name,
                "messaging.batch.message_count": len(events),
            },
        ):
            return await apply_batch(self._engine, self.name, events, self._handle_batch)
