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
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Text

from helpdesk_shared.logging import correlation_id
from helpdesk_shared.messaging.envelope import ReceivedEvent

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
