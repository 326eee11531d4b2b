"""The body of every migration set's `env.py`: async engine, per-set version table."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from helpdesk_shared.migrations import MigrationSet


def run() -> None:
    """Run the current Alembic command against the configured database (online mode only)."""
    config = context.config
    migration_set: MigrationSet = config.attributes["migration_set"]
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    asyncio.run(_run_async(url, migration_set))


async def _run_async(url: str, migration_set: MigrationSet) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, migration_set)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, migration_set: MigrationSet) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{migration_set.schema}"'))
    context.configure(
        connection=connection,
        version_table=migration_set.version_table,
        version_table_schema=migration_set.schema,
    )
    with context.begin_transaction():
        context.run_migrations()
