"""Notify's unit of work on PostgreSQL: the ticket views, the ledger and the event store's past
events on one connection, in one transaction opened when the unit begins and committed when it
ends without error (rolled back otherwise).

The unit drives an asyncpg connection itself, one of the engine's own
(`helpdesk_shared.driver_pool`), as the delivery units do: its statements are asyncpg's prepared
statements, without SQLAlchemy's compilation, parameter and result processing per statement,
and a batch's views and ledger rows are one statement each (arrays of columns). Through
SQLAlchemy's transaction the consumer's planning cost about twice the time of all its
deliveries, SMTP included (docs/performance.md). Round trips: BEGIN, the views read and
locked, the views written, the ledger written, COMMIT (and the rare rebuild's reads); no
checkout ping: BEGIN proves the connection, and one it finds dead is replaced by a fresh one and
BEGIN sent again, once (it wrote nothing). A unit that fails is rolled back before its
connection is given back; one that cannot be, or that was interrupted, drops its connection
(the server then rolls back). An engine made without connections of its own
(`HELPDESK_DB_DRIVER_CONNECTIONS=0`) lends one of SQLAlchemy's pool, left in autocommit, on
which the unit sends BEGIN and COMMIT itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters import ledger, ticket_views
from helpdesk_notify.adapters.deliveries import PostgresDeliveries, PostgresDelivery
from helpdesk_notify.adapters.ledger import StoredNotification
from helpdesk_notify.domain.notifications import Notification
from helpdesk_notify.domain.tickets import TicketView
from helpdesk_shared.driver_pool import DriverPool, driver_pool, lost
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.eventstore.reads import read_stream_on


@dataclass(frozen=True)
class PostgresLedger:
    """The `Ledger` port on `notify.notifications`; `driver`: an asyncpg connection."""

    driver: Any

    async def record(self, notifications: Sequence[Notification]) -> list[uuid.UUID]:
        return await ledger.record(self.driver, notifications)

    async def lock(self, notification: uuid.UUID) -> StoredNotification | None:
        return await ledger.lock(self.driver, notification)

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        await ledger.mark_sent(self.driver, notification, smtp_response)

    async def mark_failed(self, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
        await ledger.mark_failed(self.driver, notification, error, retryable=retryable)


@dataclass(frozen=True)
class PostgresTicketViews:
    """The `TicketViews` port on `notify.tickets`."""

    driver: Any

    async def load_all_for_update(
        self, ticket_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, TicketView]:
        return await ticket_views.load_all_for_update(self.driver, ticket_ids)

    async def save_all(self, views: Sequence[TicketView]) -> None:
        await ticket_views.save_all(self.driver, views)

    async def open_views(self) -> list[TicketView]:
        return await ticket_views.open_views(self.driver)


@dataclass(frozen=True)
class StoreHistory:
    """The `TicketHistory` port on the event store, read on the unit's connection."""

    driver: Any

    async def read_stream(self, stream_id: str, to_version: int) -> list[RecordedEvent]:
        return await read_stream_on(self.driver, stream_id, to_version=to_version)


@dataclass(frozen=True)
class PostgresNotifyUnit:
    ledger: PostgresLedger
    tickets: PostgresTicketViews
    history: StoreHistory

    @classmethod
    def on(cls, driver: Any) -> PostgresNotifyUnit:
        return cls(PostgresLedger(driver), PostgresTicketViews(driver), StoreHistory(driver))


class PostgresNotifyUnits:
    """Opens notify's units of work on one engine (`NotifyUnits`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._deliveries = PostgresDeliveries(engine)

    def __call__(self) -> AbstractAsyncContextManager[PostgresNotifyUnit]:
        own = driver_pool(self._engine)
        return self._pooled() if own is None else _on_own(own)

    def deliveries(self) -> AbstractAsyncContextManager[PostgresDelivery]:
        """One mail's unit, driven on the connection's driver (`adapters.deliveries`)."""
        return self._deliveries()

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[PostgresNotifyUnit]:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            await driver.execute("BEGIN")
            try:
                yield PostgresNotifyUnit.on(driver)
                await driver.execute("COMMIT")
            except Exception:
                if not await _rolled_back(driver):
                    await conn.invalidate()
                raise
            except BaseException:  # interrupted: the server rolls back with the session
                await conn.invalidate()
                raise


@asynccontextmanager
async def _on_own(own: DriverPool) -> AsyncIterator[PostgresNotifyUnit]:
    """A unit on one of the engine's own connections, taken without a ping (BEGIN proves it)
    and given back outside any transaction, or closed."""
    driver = await own.acquire()
    reusable = False
    try:
        try:
            await driver.execute("BEGIN")
        except Exception as error:  # a connection found dead: a fresh one, BEGIN sent again
            if not lost(driver, error):
                raise
            driver = await own.renew(driver)
            await driver.execute("BEGIN")
        yield PostgresNotifyUnit.on(driver)
        await driver.execute("COMMIT")
        reusable = True
    except Exception:
        reusable = await _rolled_back(driver)
        raise
    finally:
        if driver.is_closed():
            own.expire()  # found dead: so are the idle ones
        own.release(driver, reusable=reusable)


async def _rolled_back(driver: Any) -> bool:
    """After an error: whether the connection could be left outside any transaction; False when
    it is dead or cannot, to be dropped."""
    try:
        if not driver.is_closed() and driver.is_in_transaction():
            await driver.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - any failure leaves the connection to be dropped
        return False
    return not driver.is_closed()
