"""The consumer's handler: keep the ticket view, plan the notifications, send them.

The view and the planned notifications are committed in a unit of work of their own, not in the
consumer's transaction: when SMTP is down the handler raises so the message is retried and finally
dead-lettered, which rolls the consumer's transaction back, yet the ledger must still show the
notifications as failed and later events of the ticket must still find its requester. The
consumer's transaction then only commits the inbox entry, once every mail is sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from helpdesk_notify.application.delivery import deliver
from helpdesk_notify.application.ports import Mailer, NotifyUnits, TicketHistory
from helpdesk_notify.domain.notifications import Notification, Routing, plan
from helpdesk_notify.domain.tickets import TicketView, evolve
from helpdesk_shared.events.ticket import TicketEvent
from helpdesk_shared.messaging.envelope import ReceivedEvent

log = logging.getLogger(__name__)


class NotifyHandler:
    """`handler(event, conn)` for the shared `Consumer`."""

    def __init__(self, *, units: NotifyUnits, sender: Mailer, routing: Routing) -> None:
        self._units = units
        self._sender = sender
        self._routing = routing

    async def __call__(self, event: ReceivedEvent, consumer_transaction: object = None) -> None:
        """Handle one delivery. The consumer's transaction (which claims the event in its inbox
        once this returns) is not written to: see the module's docstring."""
        await self.handle_batch([event], consumer_transaction)

    async def handle_batch(
        self, events: Sequence[ReceivedEvent], consumer_transaction: object = None
    ) -> None:
        """Handle a batch of deliveries (the consumer's batch handler): the same effect as each
        in turn, in one unit of work for the views and the ledger, then the mails sent a ticket
        after the other in stream order, the tickets concurrently (`deliver`). A mail that must
        be retried fails the whole batch: the consumer then handles its events one by one, and
        the ledger skips the mails already marked sent (each mark is committed as it goes)."""
        report = await deliver(self._units, self._sender, await self._record(events))
        report.raise_for_retry()

    async def record(self, *events: ReceivedEvent) -> list[uuid.UUID]:
        """Apply the events to their tickets' views and write their notifications, once; the ids
        of those to send (the ledger skips the ones already sent when it sends)."""
        return [notification for chain in await self._record(events) for notification in chain]

    async def _record(self, events: Sequence[ReceivedEvent]) -> list[list[uuid.UUID]]:
        """`record`, its ids in chains: one per ticket, in the order of its events. The views
        are read in one statement and the changed ones written in one."""
        decoded = [(e, d) for e in events if isinstance(d := e.to_domain(), TicketEvent)]
        async with self._units() as unit:
            tickets = sorted({domain_event.ticket_id for _, domain_event in decoded})
            views = dict(await unit.tickets.load_all_for_update(tickets))
            changed: dict[uuid.UUID, TicketView] = {}
            planned: list[Notification] = []
            for event, domain_event in decoded:
                planned += await self._plan(unit.history, views, changed, event, domain_event)
            await unit.tickets.save_all(list(changed.values()))
            ids = await unit.ledger.record(planned)
        return by_ticket([n for n in planned if n.mail], ids)

    async def _plan(
        self,
        history: TicketHistory,
        views: dict[uuid.UUID, TicketView],
        changed: dict[uuid.UUID, TicketView],
        event: ReceivedEvent,
        domain_event: TicketEvent,
    ) -> list[Notification]:
        """Apply one event to its ticket's view (noted in `views`, and in `changed` when it is
        to be saved); its notifications."""
        before = views.get(domain_event.ticket_id)
        rebuilt = before is None and event.version > 1
        if rebuilt:
            before = await self._rebuild(history, event)
        after = evolve(before, domain_event, event.event_id)
        if after is None:
            log.info("no view of ticket %s: %s ignored", domain_event.ticket_id, event.type)
            return []
        if rebuilt or after != before:
            views[after.ticket_id] = changed[after.ticket_id] = after
        return list(plan(domain_event, event.event_id, after, self._routing))

    async def _rebuild(self, history: TicketHistory, event: ReceivedEvent) -> TicketView | None:
        """The view from the ticket's earlier events in the store, when notify missed them (it
        started after the ticket opened, or lost its view): later mails still find the requester.
        Nothing is sent about those past events."""
        past = await history.read_stream(event.stream_id, to_version=event.version - 1)
        view: TicketView | None = None
        for recorded in past:
            view = evolve(view, recorded.to_domain(), recorded.event_id)
        log.info("view of %s rebuilt from %d stored events", event.stream_id, len(past))
        return view


def by_ticket(
    notifications: Sequence[Notification], ids: Sequence[uuid.UUID]
) -> list[list[uuid.UUID]]:
    """The ids of `notifications` in chains, one per ticket (in their order), a notification
    about no ticket alone: the mails of one ticket must leave in the order of its events."""
    chains: dict[object, list[uuid.UUID]] = {}
    for notification, notification_id in zip(notifications, ids, strict=True):
        key = notification.ticket_id or notification_id
        chains.setdefault(key, []).append(notification_id)
    return list(chains.values())
