"""The metrics consumer: every stored event, through the shared consumer toolkit.

The toolkit claims the event ids in `infra.inbox` and calls the handler in the same transaction
(a batch of deliveries at a time, `metrics_consumer_batch_size`), so a redelivered event is
skipped; the projection is idempotent on its own as well (it folds a stream's versions once, in
order), which is what lets the replay and the live consumer overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_metrics.application.ports import ProjectionUnit
from helpdesk_metrics.application.projection import project, project_all
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.settings import Settings
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.messaging.batches import BatchHandler
from helpdesk_shared.messaging.consumer import Consumer, EventHandler
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import ConsumerQueue

#: Metrics' queue: figures come from tickets and calls.
QUEUE = ConsumerQueue("metrics", ("ticket.#", "call.#"))


#: The projection's unit of work inside the consumer's transaction (wired by `bootstrap`).
UnitWithin = Callable[[AsyncConnection], ProjectionUnit]


def consumer_handlers(
    unit_within: UnitWithin, calendar: BusinessCalendar
) -> tuple[EventHandler, BatchHandler]:
    """The handlers folding events into their tickets' or calls' facts (by event time), in the
    consumer's transaction (the one that claims the events in the inbox): one event at a time
    (the consumer's fallback after a failed batch) and a batch at a time (`project_all`, the
    same facts in three statements for the whole batch)."""

    async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
        await project(unit_within(conn), _record(event), calendar)

    async def handle_batch(events: Sequence[ReceivedEvent], conn: AsyncConnection) -> None:
        await project_all(unit_within(conn), [_record(e) for e in events], calendar)

    return handle, handle_batch


def _record(event: ReceivedEvent) -> EventRecord:
    return EventRecord(event.stream_id, event.version, event.type, event.data, event.recorded_at)


def build_consumer(settings: Settings, engine: AsyncEngine, unit_within: UnitWithin) -> Consumer:
    handle, handle_batch = consumer_handlers(unit_within, settings.business_calendar())
    return Consumer(
        name=QUEUE.name,
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange=settings.helpdesk_exchange,
        queue_prefix=settings.helpdesk_queue_prefix,
        handler=handle,
        batch_handler=handle_batch,
        batch_size=settings.metrics_consumer_batch_size,
        prefetch=settings.metrics_consumer_prefetch,
        bindings=QUEUE.bindings,
        publish_timeout=settings.helpdesk_broker_timeout_seconds,
    )
