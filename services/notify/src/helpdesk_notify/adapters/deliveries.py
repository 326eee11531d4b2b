"""Notify's delivery units on PostgreSQL: one mail in two round trips.

A mail is sent while its advisory lock is held (`ledger.lock` says why), so its unit needs: the
lock, the row read once the lock is held, the mark once the server accepted the mail, its
commit and the lock's release. Through SQLAlchemy's transaction each is a round trip of its own,
plus BEGIN and the checkout's liveness ping: six for a mail that takes a few milliseconds of
SMTP. Here the unit drives an asyncpg connection itself, one of the engine's own
(`helpdesk_shared.driver_pool`), in autocommit:

- no ping: the unit's first statement proves the connection. One it finds dead (a PostgreSQL
  restart) is replaced by a fresh one and the statement run again, once, as the event store's
  lone appends do; safe, since that statement wrote nothing and a dead session's lock is gone;
- the lock and the read are one statement, `notify.locked_notification` (migration
  notify_0002): a VOLATILE PL/pgSQL function whose read takes its snapshot once the lock is
  held, so a worker that waited there reads the mark its holder committed. A plain statement
  would read with the snapshot taken when it started, before the wait, find the mail pending
  and send it a second time. The lock is the session's (a transaction would need a BEGIN of
  its own round trip: asyncpg drops the rows of the simple protocol, which alone can carry two
  statements), and it conflicts with `ledger.lock`'s transaction lock on the same key;
- the mark, `COMMIT` and the lock's release go together in the simple protocol (three
  statements, one round trip): the mark is committed before the lock is released, and a mark
  that fails skips the rest, so the lock is still held while the unit ends.

The reply of the server is written as a literal in that last round trip (the simple protocol
takes no parameters): an escape string (`E'...'`) with its backslashes and quotes doubled, which
reads the same whatever `standard_conforming_strings` says, so no reply can end the literal.

A unit that ends holding its lock (nothing to send, a failed mail, an error) releases it; one
whose connection cannot, or that was interrupted (cancelled), drops the connection, and the
server releases the lock with the session: no connection goes back to a pool holding a lock.
An engine made without connections of its own (`HELPDESK_DB_DRIVER_CONNECTIONS=0`) lends one of
SQLAlchemy's pool, pinged at checkout, left in autocommit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters import ledger
from helpdesk_notify.adapters.ledger import COLUMNS, StoredNotification
from helpdesk_shared.driver_pool import DriverPool, driver_pool, lost

#: The lock, then the row read with a snapshot taken once it is held (migration notify_0002).
_LOCK_AND_READ = f"SELECT {COLUMNS} FROM notify.locked_notification($1, $2)"  # noqa: S608 - constant columns

_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended({key}, 0))"

#: `ledger.mark_sent`'s statement, its commit, then the lock's release; the simple protocol
#: takes literals only.
_MARK_SENT_COMMIT_AND_UNLOCK = (
    "UPDATE notify.notifications SET status = 'sent', attempts = attempts + 1, "
    "smtp_response = {response}, error = NULL, sent_at = now(), updated_at = now() "
    "WHERE id = {id} AND status <> 'sent'; COMMIT; "
    "SELECT pg_advisory_unlock(hashtextextended({key}, 0))"
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

    `renew`, while set, replaces a connection that the unit's first statement finds dead;
    `held` is the key of the lock the unit holds, if any."""

    driver: Any  # asyncpg.Connection
    renew: Renew | None = None
    held: str | None = None

    @property
    def ledger(self) -> PostgresDelivery:
        return self

    async def lock(self, notification: uuid.UUID) -> StoredNotification | None:
        """The lock and the row read once it is held, in one round trip. The key is
        `ledger.lock`'s, so both paths exclude each other."""
        key = ledger.lock_key(notification)
        found = await self._first(_LOCK_AND_READ, notification, key)
        self.held = key
        return None if found is None else StoredNotification(**dict(found))

    async def _first(self, statement: str, *args: Any) -> Any:
        """`statement`'s row, the unit's first: on a connection it finds dead, run again once
        on a fresh one (it wrote nothing, and the dead session's lock went with it)."""
        renew, self.renew = self.renew, None
        try:
            return await self.driver.fetchrow(statement, *args)
        except Exception as error:
            if renew is None or not lost(self.driver, error):
                raise
            self.driver = await renew(self.driver)
            return await self.driver.fetchrow(statement, *args)

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        """The mark, its commit and the lock's release in one round trip."""
        assert self.held is not None, "a mail is marked sent under its lock"
        await self.driver.execute(
            _MARK_SENT_COMMIT_AND_UNLOCK.format(
                response=quoted(smtp_response),
                id=quoted(str(notification)),
                key=quoted(self.held),
            )
        )
        self.held = None

    async def mark_failed(self, notification: uuid.UUID, error: str, *, retryable: bool) -> None:
        await ledger.mark_failed(self.driver, notification, error, retryable=retryable)

    async def end(self) -> None:
        """Release the lock the unit still holds (its mail was not marked sent)."""
        if self.held is not None:
            await self.driver.execute(_UNLOCK.format(key=quoted(self.held)))
            self.held = None

    async def tidy(self) -> bool:
        """After an error: whether the connection could be left as it was found (no
        transaction, no lock); False when it is dead or cannot, to be dropped."""
        if self.driver.is_closed():
            return False
        if self.driver.is_in_transaction():
            await self.driver.execute("ROLLBACK")
        if self.held is not None:
            await self.driver.execute("SELECT pg_advisory_unlock_all()")
            self.held = None
        return not self.driver.is_closed()


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
            unit = PostgresDelivery(driver)
            try:
                yield unit
                await unit.end()
            except Exception:
                if not await _tidied(unit):
                    await conn.invalidate()
                raise
            except BaseException:  # interrupted: the server drops the lock with the session
                await conn.invalidate()
                raise


@asynccontextmanager
async def _on_own(own: DriverPool) -> AsyncIterator[PostgresDelivery]:
    """A unit on one of the engine's own connections, taken without a ping (its first statement
    proves it) and given back holding no lock, or closed."""
    unit = PostgresDelivery(await own.acquire(), renew=own.renew)
    reusable = False
    try:
        yield unit
        await unit.end()
        reusable = True
    except Exception:
        reusable = await _tidied(unit)
        raise
    finally:
        if unit.driver.is_closed():
            own.expire()  # found dead after its first statement: so are the idle ones
        own.release(unit.driver, reusable=reusable)


async def _tidied(unit: PostgresDelivery) -> bool:
    """`unit.tidy()`, False when even that fails (the connection is then dropped)."""
    try:
        return await unit.tidy()
    except Exception:  # noqa: BLE001 - any failure leaves the connection to be dropped
        return False
