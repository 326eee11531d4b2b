"""Database engines: created by each service's bootstrap, never at import time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: A writer that opens a transaction and stalls holds back every reader of the all-events log
#: (they only read below the oldest running transaction), so no session may idle in one for long.
IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000


def create_engine(
    database_url: str, *, pool_size: int = 10, application_name: str = "helpdesk"
) -> AsyncEngine:
    """An asyncpg-backed SQLAlchemy engine with the settings the event store relies on."""
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
                "application_name": application_name,
                # The append statement costs ~1 ms to plan and PostgreSQL would re-plan it on
                # every call (it misjudges the generic plan of `unnest` over arrays); every
                # statement of the services is a small indexed lookup, for which the generic
                # plan is the right one (docs/performance.md).
                "plan_cache_mode": "force_generic_plan",
            }
        },
    )


def asyncpg_dsn(database_url: str) -> str:
    """The plain `postgresql://` DSN for asyncpg (LISTEN, advisory locks, benchmarks)."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
