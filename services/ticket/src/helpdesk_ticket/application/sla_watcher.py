"""The SLA watcher: appends `SlaWarning` and `SlaBreached` when a deadline comes near or passes.

It asks the projection which tickets are due a check (cheap, indexed), then decides on the ticket
rebuilt from its stream, so a stale row never produces a wrong fact. Each fact is recorded once:
the domain skips targets already warned or breached, and two watchers racing on one ticket
conflict on the stream version instead of both appending (the loser decides again on the
fresh state, which skips what the winner recorded).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from helpdesk_shared.eventstore.model import ConcurrencyConflict, EventMetadata
from helpdesk_ticket.application.tickets import TicketService
from helpdesk_ticket.domain.errors import TicketNotFound
from helpdesk_ticket.domain.ticket.commands import CheckSla

WATCHER = "sla-watcher"
DueTickets = Callable[[datetime], Awaitable[list[uuid.UUID]]]
log = logging.getLogger(__name__)


class SlaWatcher:
    def __init__(self, tickets: TicketService, due: DueTickets, interval: float) -> None:
        self._tickets = tickets
        self._due = due
        self._interval = interval
        self._stopping = asyncio.Event()

    async def check_once(self) -> int:
        """Look at every ticket due a check now; the number of SLA facts recorded."""
        now = self._tickets.clock()
        recorded = 0
        for ticket_id in await self._due(now):
            try:
                recorded += await self.check(ticket_id, now)
            except (ConcurrencyConflict, TicketNotFound):
                continue  # someone acted on it meanwhile: the next round looks again
        return recorded

    async def check(self, ticket_id: uuid.UUID, now: datetime) -> int:
        done = await self._tickets.aggregates.handle(
            ticket_id,
            lambda loaded: CheckSla(by=WATCHER, at=now),
            metadata=EventMetadata(actor=WATCHER),
        )
        return done.appended

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.check_once()
            except Exception:
                log.exception("SLA watcher round failed; trying again next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def stop(self) -> None:
        self._stopping.set()
