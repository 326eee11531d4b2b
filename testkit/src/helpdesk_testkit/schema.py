"""What the migrations made in a database, as data two databases (or two moments) compare by.

Tables and their columns, indexes, triggers, functions and version tables' contents, in every
schema but PostgreSQL's own: a migration test compares the schema before and after a round
trip, or after the printed SQL against after the online upgrade.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from helpdesk_shared.db import asyncpg_dsn

#: One query per kind of object; each answers sorted rows of plain values. `!~ '^(pg_|...)'`
#: keeps every schema but PostgreSQL's own (`pg_catalog`, `pg_toast`, temporary ones...).
QUERIES = {
    "schemas": """SELECT schema_name FROM information_schema.schemata
        WHERE schema_name !~ '^(pg_|information_schema$)' ORDER BY 1""",
    "columns": """SELECT table_schema, table_name, column_name, data_type, is_nullable,
            column_default, is_identity, is_generated, generation_expression
        FROM information_schema.columns WHERE table_schema !~ '^(pg_|information_schema$)'
        ORDER BY 1, 2, 3""",
    "constraints": """SELECT n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname !~ '^(pg_|information_schema$)' ORDER BY 1, 2, 3""",
    "indexes": """SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname !~ '^(pg_|information_schema$)' ORDER BY 1, 2, 3""",
    "triggers": """SELECT trigger_schema, event_object_table, trigger_name, event_manipulation,
            action_timing, action_orientation, action_statement
        FROM information_schema.triggers WHERE trigger_schema !~ '^(pg_|information_schema$)'
        ORDER BY 1, 2, 3, 4""",
    "functions": """SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname !~ '^(pg_|information_schema$)' AND n.nspname <> 'public'
        ORDER BY 1, 2, 3""",
}


async def _schema_of(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        found = {kind: [tuple(r) for r in await conn.fetch(q)] for kind, q in QUERIES.items()}
        versions = []
        for schema, table in await conn.fetch(
            """SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_name LIKE 'alembic\\_version\\_%' ORDER BY 1, 2"""
        ):
            query = f'SELECT version_num FROM "{schema}"."{table}" ORDER BY 1'  # noqa: S608
            rows = await conn.fetch(query)
            versions += [(schema, table, row["version_num"]) for row in rows]
        return found | {"versions": versions}
    finally:
        await conn.close()


def schema_of(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The database's schema objects (and the revision each migration set stands at)."""
    return asyncio.run(_schema_of(database_url))


def tables_in(schema: dict[str, list[tuple[Any, ...]]], name: str) -> set[str]:
    """The tables a `schema_of` answer has in the schema `name`."""
    return {row[1] for row in schema["columns"] if row[0] == name}
