"""A statement's plan as the engine's connections make it, for tests that a statement keeps to an
index once its tables are analyzed.

The engine's connections plan each statement once for any values (`plan_cache_mode =
force_generic_plan`, `helpdesk_shared.db`): such a plan knows the tables' statistics but not the
values, and can prefer reading a whole table where the values would have kept it to an index.
`generic_plan` prepares the statement on one of the engine's own connections and runs it under
EXPLAIN ANALYZE with the values given, so a test sees the plan the service runs and what it read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Dialect, Select, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.eventstore.alone import native


def nodes_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, the root first."""
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes_of(child))]


def scans_of(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [node for node in nodes if "Scan" in node["Node Type"]]


def _as_sent(
    statement: TextClause | Select[Any], params: Mapping[str, object], dialect: Dialect
) -> tuple[str, list[object]]:
    """The SQL and the values in order, as the engine sends them to asyncpg."""
    if isinstance(statement, TextClause):
        return native(statement, list(params)), list(params.values())
    compiled = statement.compile(dialect=dialect)
    bound = {**compiled.params, **params}
    return str(compiled), [bound[name] for name in compiled.positiontup or ()]


async def generic_plan(
    engine: AsyncEngine,
    statement: TextClause | Select[Any],
    params: Mapping[str, object] | None = None,
) -> list[dict[str, Any]]:
    """The nodes of `statement`'s plan, prepared on one of the engine's connections and executed
    with `params` (a text statement's; a select's own values otherwise), each given as its text,
    PostgreSQL casting it as the statement says."""
    sql, values = _as_sent(statement, params or {}, engine.dialect)
    listed = ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)
    arguments = f"({listed})" if values else ""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"PREPARE planned AS {sql}")
        try:
            explained = await driver.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE planned{arguments}"
            )
        finally:
            await driver.execute("DEALLOCATE planned")
    document = json.loads(explained) if isinstance(explained, str) else explained
    return nodes_of(document[0]["Plan"])


async def vacuum_analyze(engine: AsyncEngine, *tables: str) -> None:
    """What autovacuum would do to `tables` sooner or later: their statistics known."""
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await autocommit.execute(text(f"VACUUM ANALYZE {table}"))
