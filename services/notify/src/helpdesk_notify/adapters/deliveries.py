"""Notify's delivery units on PostgreSQL: one mail's transaction in three round trips.

A mail is sent inside a transaction that holds its advisory lock (`ledger.lock` says why), so
its unit needs: the lock, the row read once the lock is held, the mark once the server accepted
the mail, and the commit. Through SQLAlchemy's transaction each is a round trip of its own, plus
BEGIN and the checkout's liveness ping: six for a mail that takes a few milliseconds of SMTP.
Here the unit drives an asyncpg connection itself, one of the engine's own
(`helpdesk_shared.driver_pool`):

- no ping: the unit's first statement proves the connection. One it finds dead (a PostgreSQL
  restart) is replaced by a fresh one and the statement run again, once, as the event store's
  lone appends do; safe, since that statement wrote nothing and the dead one's transaction
  ended with it;
- `BEGIN` and the lock go together, in the simple protocol (two statements, one round trip);
- the row is read by a statement of its own. Not in the lock's statement: a statement reads with
  the snapshot taken when it starts, so a worker that waited there for the lock would read the
  row as it was before the holder marked it sent, and send the mail a second time;
- the mark and `COMMIT` go together, again two statements in one round trip.

The reply of the server is written as a literal in that last round trip (the simple protocol
takes no parameters): an escape string (`E'...'`) with its backslashes and quotes doubled, which
reads the same whatever `standard_conforming_strings` says, so no reply can end the literal.

A unit left with its transaction open by an error rolls it back, or drops the connection when
even that fails; an interrupted one (cancelled) drops it, the server then ending the transaction
and its lock: no connection goes back to the pool inside a transaction. An engine made without
connections of its own (`HELPDESK_DB_DRIVER_CONNECTIONS=0`) lends one of SQLAlchemy's pool,
pinged at checkout, left in autocommit so that SQLAlchemy neither begins nor commits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_notify.adapters import ledger
from helpdesk_notify.adapters.ledger import COLUMNS, StoredNotification
from helpdesk_shared.driver_pool import DriverPool, driver_pool, lost

_READ = f"SELECT {COLUMNS} FROM notify.notifications WHERE id = $1"  # noqa: S608 - constant columns

#: `ledger.mark_sent`'s statement, then the commit; the simple protocol takes literals only.
_MARK_SENT_AND_COMMIT = (
    "UPDATE notify.notifications SET status = 'sent', attempts = attempts + 1, "
    "smtp_response = {response}, error = NULL, sent_at = now(), updated_at = now() "
    "WHERE id = {id} AND status <> 'sent'; COMMIT"
)

_MARK_FAILED = (
    "UPDATE notify.notifications SET status = 'failed', attempts = attempts + 1, "
    "error = $2, retryable = $3, updated_at = now() WHERE id = $1"
)


def quoted(value: str) -> str:
    """`value` as an escape-string literal: backslashes and quotes doubled, so its reading does
    not depend on `standard_conforming_strings`; no NUL (text cannot hold it)."""
    value = value.replace("\x00", "").replace("\\", "\\\\").replace("'", "''")
    return "E'" + value + "'"


#: Gives a fresh connection in place of one found dead (`DriverPool.renew`).
Renew = Callable[[Any], Awaitable[Any]]


@dataclass
class PostgresDelivery:
    """One mail's unit: its ledger is itself (`lock`, `mark_sent`, `mark_failed`).

    `renew`, while set, replaces a connection that the unit's first statement finds dead."""

    driver: Any  # asyncpg.Connection
    renew: Renew | None = None

    @property
    def ledger(self) -> PostgresDelivery:
        return self

    async def lock(self, notification: uuid.UUID) -> StoredNotification | None:
        """BEGIN and the lock in one round trip, then the row read with a snapshot taken once
        the lock is held. The key is `ledger.lock`'s, so both paths exclude each other."""
        key = quoted(ledger.lock_key(notification))
        await self._first(f"BEGIN; SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))")
        found = await self.driver.fetchrow(_READ, notification)
        return None if found is None else StoredNotification(**dict(found))

    async def _first(self, statement: str) -> None:
        """`statement`, the unit's first: on a connection it finds dead, run again once on a
        fresh one (it wrote nothing, and the dead one's transaction ended with it)."""
        renew, self.renew = self.renew, None
        try:
            await self.driver.execute(statement)
        except Exception as error:
            if renew is None or not lost(self.driver, error):
                raise
            self.driver = await renew(self.driver)
            await self.driver.execute(statement)

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        """The mark and the commit in one round trip: the mark is the unit's last write."""
        await self.driver.execute(
            _MARK_SENT_AND_COMMIT.format(
                response=quoted(smtp_response), id=quoted(str(notification))
            )
        )

    async def mark_failed(self, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
        await self.driver.execute(_MARK_FAILED, notification, error, retryable)


class PostgresDeliveries:
    """Opens delivery units on the engine's own connections, or on its pooled ones for an
    engine without them (`NotifyUnits.deliveries`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def __call__(self) -> AbstractAsyncContextManager[PostgresDelivery]:
        own = driver_pool(self._engine)
        return self._pooled() if own is None else _on_own(own)

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[PostgresDelivery]:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            clean = False
            try:
                yield PostgresDelivery(driver)
                if driver.is_in_transaction():
                    await driver.execute("COMMIT")
                clean = True
            finally:
                if not clean:
                    await _abandon(conn, driver)


@asynccontextmanager
async def _on_own(own: DriverPool) -> AsyncIterator[PostgresDelivery]:
    """A unit on one of the engine's own connections, taken without a ping (its first statement
    proves it) and given back out of any transaction, or closed."""
    unit = PostgresDelivery(await own.acquire(), renew=own.renew)
    reusable = False
    try:
        yield unit
        if unit.driver.is_in_transaction():
            await unit.driver.execute("COMMIT")
        reusable = True
    except Exception:
        # A connection that cannot even roll back raises here, and is closed below.
        if not unit.driver.is_closed() and unit.driver.is_in_transaction():
            await unit.driver.execute("ROLLBACK")
        reusable = not unit.driver.is_closed()
        raise
    finally:
        if unit.driver.is_closed():
            own.expire()  # found dead after its first statement: so are the idle ones
        own.release(unit.driver, reusable=reusable)


async def _abandon(conn: AsyncConnection, driver: Any) -> None:
    """Roll back what the unit left open, or drop the connection if that cannot be done."""
    try:
        if not driver.is_closed() and driver.is_in_transaction():
            await driver.execute("ROLLBACK")
    except BaseException:
        await conn.invalidate()
        raise
