"""Database engines: created by each service's bootstrap, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from helpdesk_shared.driver_pool import DriverPool, attach
from helpdesk_shared.settings import CommonSettings

#: A writer that opens a transaction and stalls holds back every reader of the all-events log
#: (they only read below the oldest running transaction), so no session may idle in one for long.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000

_unpinged: ContextVar[bool] = ContextVar("helpdesk_db_unpinged", default=False)


@contextmanager
def unpinged() -> Iterator[None]:
    """Checkouts in this block skip the liveness ping (one round trip each). Only for callers
    that replace a dead connection themselves and can safely run their statement again: the
    event store's own appends, idempotent by event id (`EventStore.append`), and intake's
    openings without a transaction, which give way at a read on a dead connection before
    anything is written (`PostgresIntakeUnits.alone`)."""
    token = _unpinged.set(True)
    try:
        yield
    finally:
        _unpinged.reset(token)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long any call to PostgreSQL may take, so a slow or unreachable server turns into an
    error the caller can answer (503 with `Retry-After`) instead of a request that hangs.

    `statement` is PostgreSQL's `statement_timeout` (0: none); asyncpg's `command_timeout` is one
    second more, for a server that does not answer at all. `pool` bounds the wait for a free
    connection of the pool, `connect` the opening of a new one."""

    statement: float = 15.0
    pool: float = 10.0
    connect: float = 5.0

    @classmethod
    def of(cls, settings: CommonSettings) -> DatabaseTimeouts:
        return cls(
            statement=settings.helpdesk_db_statement_timeout_seconds,
            pool=settings.helpdesk_db_pool_timeout_seconds,
            connect=settings.helpdesk_db_connect_timeout_seconds,
        )


def create_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    application_name: str = "helpdesk",
    timeouts: DatabaseTimeouts | None = None,
    driver_connections: int | None = None,
) -> AsyncEngine:
    """An asyncpg-backed SQLAlchemy engine with the settings the event store relies on, and
    `driver_connections` asyncpg connections of its own for the store's single statements
    (`HELPDESK_DB_DRIVER_CONNECTIONS`; None: as many as `pool_size`, opened only when that
    many statements run at once; 0: none, the store then uses the engine's pool)."""
    timeouts = timeouts or DatabaseTimeouts()
    server_settings = {
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
        "statement_timeout": str(round(timeouts.statement * 1000)),
        "application_name": application_name,
        # The append statement costs ~1 ms to plan and PostgreSQL would re-plan it on
        # every call (it misjudges the generic plan of `unnest` over arrays); every
        # statement of the services is a small indexed lookup, for which the generic
        # plan is the right one (docs/performance.md).
        "plan_cache_mode": "force_generic_plan",
    }
    connect_args = {
        "server_settings": server_settings,
        "timeout": timeouts.connect,
        "command_timeout": timeouts.statement + 1 if timeouts.statement else None,
    }
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeouts.pool,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkout", _ping)
    size = pool_size if driver_connections is None else driver_connections
    own = DriverPool(asyncpg_dsn(database_url), size, timeouts.pool, connect_args)
    attach(engine, own)
    return engine


def _ping(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Every checkout proves the connection alive, so one broken by a PostgreSQL restart is
    replaced before use instead of failing a request: `pool_pre_ping`'s guarantee, and its
    reaction (the pool's older connections are dropped, the checkout retried on a new one).
    `pool_pre_ping` with asyncpg wraps its ping in BEGIN and ROLLBACK (three round trips, for
    pgbouncer's transaction mode and its prepared statements); a query in the simple protocol
    prepares nothing, so one round trip does (bench/ticket/README.md). Not `;`: asyncpg fails on
    the empty query's answer in the simple protocol. Skipped inside `unpinged()`."""
    if _unpinged.get():
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1"))
    except Exception as error:  # any failure means the connection is unusable
        raise exc.InvalidatePoolError(f"ping failed: {type(error).__name__}: {error}") from error


def asyncpg_dsn(database_url: str) -> str:
    """The plain `postgresql://` DSN for asyncpg (LISTEN, advisory locks, benchmarks)."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
