"""A few asyncpg connections of the engine's own, outside SQLAlchemy's pool, for the event
store's single statements (its lone appends and its reads of the log) and for the units that
drive a connection themselves (notify's delivery of one mail).

Taking a connection out of SQLAlchemy's pool and giving it back costs 160-200 µs of client CPU
(docs/performance.md): more than the append statement's round trip. asyncpg's own pool is
cheaper but still starts a task for each acquire with a timeout and each release. This one is a
list of idle connections behind a semaphore: taking a free connection and giving it back does
not even yield to the event loop. The connections are opened as the engine's are (same DSN,
`statement_timeout`, `application_name`, plan cache mode, connect and command timeouts:
`HELPDESK_DB_*`), a wait for a free one is bounded by the pool timeout and then raises
SQLAlchemy's `TimeoutError`, as the engine's pool does (a 503), and they are closed with the
engine (`AsyncEngine.dispose`), so nothing else has to own them.

No reset and no liveness ping: a connection is given back with no session state (no
transaction, no LISTEN, no advisory lock: a unit that opened a transaction or took a lock ends
it first), and a caller whose first statement finds its connection dead (`lost`) takes a fresh
one (`renew`: the idle ones expire with it, a restart killed them all) and runs that statement
again once, which is safe for what runs here: the store's statements (`eventstore.alone`), and
a unit's first statement, which wrote nothing. A connection whose statement was interrupted
(cancelled, timed out) is closed rather than reused.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

#: A terminated backend's goodbye may reach asyncpg while the connection is idle and leave its
#: protocol unable to start the next statement (`InternalClientError`, "cannot switch to state"):
#: that connection is as dead as a closed one.
CONNECTION_LOST = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.InternalClientError,
)


def lost(connection: asyncpg.Connection, error: BaseException) -> bool:
    """Whether `error`, raised by a statement on `connection`, means the connection can run
    nothing any more (rather than an answer of a live server, to be raised as it is)."""
    if isinstance(error, CONNECTION_LOST):
        return True
    return isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError) and (
        connection.is_closed()
    )


#: `dispose` waits this long for each idle connection's goodbye before dropping it.
CLOSE_SECONDS = 2.0


@dataclass
class DriverPool:
    """Up to `size` asyncpg connections, opened on demand, kept while they work."""

    dsn: str
    size: int
    acquire_timeout: float
    connect_kwargs: dict[str, Any]
    _idle: list[asyncpg.Connection] = field(default_factory=list, repr=False)
    #: Connections of this generation (lent or idle): anything else is closed when given back.
    _owned: set[asyncpg.Connection] = field(default_factory=set, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)

    async def acquire(self) -> asyncpg.Connection:
        """A connection for one statement; give it back with `release`."""
        slots = self._slots = self._slots or asyncio.Semaphore(self.size)
        if slots.locked():
            try:
                async with asyncio.timeout(self.acquire_timeout):
                    await slots.acquire()
            except TimeoutError as error:
                raise sa_exc.TimeoutError(
                    f"none of the store's {self.size} connections was free within "
                    f"{self.acquire_timeout} s"
                ) from error
        else:
            await slots.acquire()  # a free slot: returns without yielding
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._owned.discard(connection)
            connection = await asyncpg.connect(self.dsn, **self.connect_kwargs)
            self._owned.add(connection)
            return connection
        except BaseException:
            slots.release()
            raise

    def release(self, connection: asyncpg.Connection, *, reusable: bool = True) -> None:
        """Give `connection` back: kept idle, or closed when it is not `reusable` (its statement
        was interrupted), dead, or of an earlier generation (`expire`, `close`)."""
        if reusable and connection in self._owned and not connection.is_closed():
            self._idle.append(connection)
        else:
            self._owned.discard(connection)
            connection.terminate()
        if self._slots is not None:
            self._slots.release()

    async def renew(self, dead: asyncpg.Connection) -> asyncpg.Connection:
        """A fresh connection in `dead`'s place (and slot), which its first statement found
        `lost`: the idle ones expire with it (a restart killed them all), so the fresh one is
        new. When none can be opened, `dead` stays the caller's to `release`."""
        self.expire()
        dead.terminate()
        connection = await asyncpg.connect(self.dsn, **self.connect_kwargs)
        self._owned.add(connection)
        return connection

    def expire(self) -> None:
        """Drop every idle connection and let the lent ones be closed when given back: one
        was found dead, which after a restart they all are."""
        idle, self._idle, self._owned = self._idle, [], set()
        for connection in idle:
            connection.terminate()

    async def close(self) -> None:
        """Close the idle connections (the lent ones are closed when given back)."""
        idle, self._idle, self._owned = self._idle, [], set()
        for connection in idle:
            try:
                await connection.close(timeout=CLOSE_SECONDS)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                connection.terminate()


_POOLS: WeakKeyDictionary[Engine, DriverPool] = WeakKeyDictionary()


def attach(engine: AsyncEngine, pool: DriverPool) -> None:
    """Give `engine` its own connections, closed whenever the engine is disposed."""
    if pool.size <= 0:
        return
    _POOLS[engine.sync_engine] = pool
    event.listen(engine.sync_engine, "engine_disposed", _close_with_engine)


def driver_pool(engine: AsyncEngine) -> DriverPool | None:
    """The engine's own connections; None for an engine made without them (its callers then
    use SQLAlchemy's pool)."""
    return _POOLS.get(engine.sync_engine)


def _close_with_engine(sync_engine: Engine) -> None:
    """`engine_disposed` runs inside `AsyncEngine.dispose`'s greenlet: await the close there."""
    pool = _POOLS.get(sync_engine)
    if pool is None:
        return
    try:
        await_only(pool.close())
    except MissingGreenlet:  # a synchronous `Engine.dispose`: nothing to await in
        pool.expire()
