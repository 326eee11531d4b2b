"""Notify's unit of work on PostgreSQL: the ticket views, the ledger and the event store's past
events on one connection, in one transaction opened when the unit begins and committed when it
ends without error (rolled back otherwise).

Each piece runs the same statements the handlers ran on the connection before: no round trip is
added.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_notify.adapters import ledger, ticket_views
from helpdesk_notify.adapters.deliveries import PostgresDeliveries, PostgresDelivery
from helpdesk_notify.adapters.ledger import StoredNotification
from helpdesk_notify.domain.notifications import Notification
from helpdesk_notify.domain.tickets import TicketView
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.eventstore.store import EventStore


@dataclass(frozen=True)
class PostgresLedger:
    """The `Ledger` port on `notify.notifications`."""

    conn: AsyncConnection

    async def record(self, notifications: Sequence[Notification]) -> list[uuid.UUID]:
        return await ledger.record(self.conn, notifications)

    async def lock(self, notification: uuid.UUID) -> StoredNotification | None:
        return await ledger.lock(self.conn, notification)

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        await ledger.mark_sent(self.conn, notification, smtp_response)

    async def mark_failed(self, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
        await ledger.mark_failed(self.conn, notification, error, retryable=retryable)


@dataclass(frozen=True)
class PostgresTicketViews:
    """The `TicketViews` port on `notify.tickets`."""

    conn: AsyncConnection

    async def load_all_for_update(
        self, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, TicketView]:
        return await ticket_views.load_all_for_update(self.conn, ticket_ids)

    async def save_all(self, views: Sequence[TicketView]) -> None:
        await ticket_views.save_all(self.conn, views)

    async def open_views(self) -> list[TicketView]:
        return await ticket_views.open_views(self.conn)


@dataclass(frozen=True)
class StoreHistory:
    """The `TicketHistory` port on the event store, read on the unit's connection."""

    store: EventStore
    conn: AsyncConnection

    async def read_stream(self, stream_id: str, to_version: int) -> list[RecordedEvent]:
        return await self.store.read_stream(stream_id, to_version=to_version, conn=self.conn)


@dataclass(frozen=True)
class PostgresNotifyUnit:
    ledger: PostgresLedger
    tickets: PostgresTicketViews
    history: StoreHistory


class PostgresNotifyUnits:
    """Opens notify's units of work on one engine (`NotifyUnits`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._store = EventStore(engine)
        self._deliveries = PostgresDeliveries(engine)

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[PostgresNotifyUnit]:
        async with self._engine.begin() as conn:
            yield PostgresNotifyUnit(
                PostgresLedger(conn), PostgresTicketViews(conn), StoreHistory(self._store, conn)
            )

    def deliveries(self) -> AbstractAsyncContextManager[PostgresDelivery]:
        """One mail's unit, driven on the connection's driver (`adapters.deliveries`)."""
        return self._deliveries()
