"""The metrics consumer: every stored event, through the shared consumer toolkit.

The toolkit claims the event id in `infra.inbox` and calls the handler in the same transaction, so
a redelivered event is skipped; the projection is idempotent on its own as well (it folds a
stream's versions once, in order), which is what lets the replay and the live consumer overlap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_metrics.application.ports import ProjectionUnit
from helpdesk_metrics.application.projection import project
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.settings import Settings
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.envelope import ReceivedEvent
from helpdesk_shared.messaging.topology import ConsumerQueue

#: Metrics' queue: figures come from tickets and calls.
QUEUE = ConsumerQueue("metrics", ("ticket.#", "call.#"))


#: The projection's unit of work inside the consumer's transaction (wired by `bootstrap`).
UnitWithin = Callable[[AsyncConnection], ProjectionUnit]


def handler(
    unit_within: UnitWithin, calendar: BusinessCalendar
) -> Callable[[ReceivedEvent, AsyncConnection], Awaitable[None]]:
    """The handler folding each event into its ticket's or call's facts (by event time), in
    the consumer's transaction: the one that claims the event in the inbox."""

    async def handle(event: ReceivedEvent, conn: AsyncConnection) -> None:
        record = EventRecord(
            event.stream_id, event.version, event.type, event.data, event.recorded_at
        )
        await project(unit_within(conn), record, calendar)

    return handle


def build_consumer(settings: Settings, engine: AsyncEngine, unit_within: UnitWithin) -> Consumer:
    return Consumer(
        name=QUEUE.name,
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange=settings.helpdesk_exchange,
        queue_prefix=settings.helpdesk_queue_prefix,
        handler=handler(unit_within, settings.business_calendar()),
        bindings=QUEUE.bindings,
        publish_timeout=settings.helpdesk_broker_timeout_seconds,
    )
