"""The consumer's handler: keep the ticket view, plan the notifications, send them.

The view and the planned notifications are committed in a transaction of their own, not in the
consumer's (`conn`): when SMTP is down the handler raises so the message is retried and finally
dead-lettered, which rolls the consumer's transaction back, yet the ledger must still show the
notifications as failed and later events of the ticket must still find its requester. The
consumer's transaction then only commits the inbox entry, once every mail is sent.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_notify.adapters import ledger, ticket_views
from helpdesk_notify.application.delivery import MailSender, deliver_event
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
        await self.record(event)
        await deliver_event(self._engine, self._sender, event.event_id)

    async def record(self, event: ReceivedEvent) -> None:
        """Apply the event to the ticket's view and write its notifications, once."""
        domain_event = event.to_domain()
        if not isinstance(domain_event, TicketEvent):
            return
        async with self._engine.begin() as own:
            before = await ticket_views.load_for_update(own, domain_event.ticket_id)
            after = evolve(before, domain_event, event.event_id)
            if after is None:
                log.info("no view of ticket %s yet: %s ignored", domain_event.ticket_id, event.type)
                return
            if after != before:
                await ticket_views.save(own, after)
            await ledger.record(own, plan(domain_event, event.event_id, after, self._routing))
