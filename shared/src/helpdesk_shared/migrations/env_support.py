"""The body of every migration set's `env.py`: async engine, per-set version table.

Online, it runs the command against the database. Offline (`alembic ... --sql`, or
`helpdesk-migrate --sql`), it prints the SQL instead and never connects: a DBA reviews the DDL
before it runs.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from helpdesk_shared.migrations import MigrationSet


def run() -> None:
    """Run the current Alembic command: against the database, or as SQL text when offline."""
    config = context.config
    migration_set: MigrationSet = config.attributes["migration_set"]
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    if context.is_offline_mode():
        _run_offline(url, migration_set)
    else:
        asyncio.run(_run_async(url, migration_set))


def _create_schema(migration_set: MigrationSet) -> str:
    """The version table lives in the set's schema, so the schema comes before any migration."""
    return f'CREATE SCHEMA IF NOT EXISTS "{migration_set.schema}"'


def _run_offline(url: str, migration_set: MigrationSet) -> None:
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        version_table=migration_set.version_table,
        version_table_schema=migration_set.schema,
    )
    with context.begin_transaction():
        context.execute(_create_schema(migration_set))
        context.run_migrations()


async def _run_async(url: str, migration_set: MigrationSet) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, migration_set)
            await connection.commit()
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, migration_set: MigrationSet) -> None:
    connection.execute(text(_create_schema(migration_set)))
    context.configure(
        connection=connection,
        version_table=migration_set.version_table,
        version_table_schema=migration_set.schema,
    )
    with context.begin_transaction():
        context.run_migrations()
