"""The consumer's handler: keep the ticket view, plan the notifications, send them.

The view and the planned notifications are committed in a transaction of their own, not in the
consumer's (`conn`): when SMTP is down the handler raises so the message is retried and finally
dead-lettered, which rolls the consumer's transaction back, yet the ledger must still show the
notifications as failed and later events of the ticket must still find its requester. The
consumer's transaction then only commits the inbox entry, once every mail is sent.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_notify.adapters import ledger, ticket_views
from helpdesk_notify.application.delivery import MailSender, deliver
from helpdesk_notify.domain.notifications import Routing, plan
from helpdesk_notify.domain.tickets import evolve
from helpdesk_shared.events.ticket import TicketEvent
from helpdesk_shared.messaging.envelope import ReceivedEvent

log = logging.getLogger(__name__)


class NotifyHandler:
    """`handler(event, conn)` for the shared `Consumer`."""

    def __init__(self, *, engine: AsyncEngine, sender: MailSender, routing: Routing) -> None:
        self._engine = engine
        self._sender = sender
        self._routing = routing

    async def __call__(self, event: ReceivedEvent, conn: AsyncConnection) -> None:
        to_send = await self.record(event)
        report = await deliver(self._engine, self._sender, to_send)
        report.raise_for_retry()

    async def record(self, event: ReceivedEvent) -> list[uuid.UUID]:
        """Apply the event to the ticket's view and write its notifications, once; the ids of
        those to send (the ledger skips the ones already sent when it sends)."""
        domain_event = event.to_domain()
        if not isinstance(domain_event, TicketEvent):
            return []
        async with self._engine.begin() as own:
            before = await ticket_views.load_for_update(own, domain_event.ticket_id)
            after = evolve(before, domain_event, event.event_id)
            if after is None:
                log.info("no view of ticket %s yet: %s ignored", domain_event.ticket_id, event.type)
                return []
            if after != before:
                await ticket_views.save(own, after)
            notifications = plan(domain_event, event.event_id, after, self._routing)
            await ledger.record(own, notifications)
        return [ledger.notification_id(n.event_id, n.recipient) for n in notifications if n.mail]
