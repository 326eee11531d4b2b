"""The notify consumer: ticket events, through the shared consumer toolkit.

The toolkit claims the event id in `infra.inbox` in the same transaction as the handler's own
writes (the notification ledger), so a redelivered event is skipped; a mail is sent once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.application.delivery import MailSender
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.application.ports import NotifyUnits
from helpdesk_notify.settings import Settings
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.topology import ConsumerQueue

#: Notify's queue: it only tells people about tickets.
QUEUE = ConsumerQueue("notify", ("ticket.#",))


def build_consumer(
    settings: Settings, engine: AsyncEngine, units: NotifyUnits, sender: MailSender
) -> Consumer:
    handler = NotifyHandler(units=units, sender=sender, routing=settings.routing())
    return Consumer(
        name=QUEUE.name,
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange=settings.helpdesk_exchange,
        queue_prefix=settings.helpdesk_queue_prefix,
        handler=handler,
        batch_handler=handler.handle_batch,
        bindings=QUEUE.bindings,
        publish_timeout=settings.helpdesk_broker_timeout_seconds,
        prefetch=settings.notify_consumer_prefetch,
        batch_size=settings.notify_consumer_batch_size,
        max_attempts=settings.notify_consumer_max_attempts,
        backoff_seconds=settings.notify_consumer_backoff_seconds,
    )
