"""The relay's backlog measure, planned as the relay's connections plan it, on a log whose
statistics PostgreSQL knows: it walks the log's index from the checkpoint, never the whole log
(docs/performance.md, the relay's row)."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import Routed
from helpdesk_shared.eventstore.alone import native
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.relay.backlog import BACKLOG, backlog_after, backlog_parameters

#: Enough events for PostgreSQL to read the whole table and sort it, rather than walk the index,
#: when it expects a third of the log after the checkpoint and a constant bound of 100,000 (the
#: statement before its bound was a parameter did, at this size already).
LOG = 2000
BEHIND = 30
#: Events about as wide as the desk's `TicketOpened` (about 1.5 kB with its requester and
#: description): a few to a page, as in the log the relay reads.
REASON = "Relève du réseau : le commutateur du 3e étage ne répond plus. " * 20


def _routed(ticket: uuid.UUID, n: int) -> NewEvent:
    event = Routed(
        ticket_id=ticket,
        occurred_at=datetime.now(UTC),
        from_group="desk",
        to_group=f"reseau-{n}",
        reason=REASON,
        by="agent-1",
    )
    return NewEvent.from_domain(event)


async def _analyzed_log(engine: AsyncEngine) -> list[Any]:
    """`LOG` events, `VACUUM ANALYZE`d (as autovacuum would); the positions, in log order."""
    store = EventStore(engine)
    for _ in range(LOG // 500):
        ticket = uuid.uuid4()
        events = [_routed(ticket, n) for n in range(500)]
        await store.append(f"ticket-{ticket}", ExpectedVersion.ANY, events)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE eventstore.events"))
        rows = await autocommit.execute(
            text(
                "SELECT tx_id::text::bigint AS tx_id, global_position FROM eventstore.events "
                "ORDER BY tx_id, global_position"
            )
        )
        return list(rows)


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def _plan(engine: AsyncEngine, position: LogPosition) -> list[dict[str, Any]]:
    """The plan's nodes of `BACKLOG` prepared on one of the engine's connections, which plan
    each statement once for any values, as asyncpg prepares it for the relay."""
    params = backlog_parameters(position)
    values = ", ".join(f"'{value}'" for value in params.values())
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"PREPARE backlog AS {native(BACKLOG, list(params))}")
        explained = await driver.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE backlog({values})"
        )
        await driver.execute("DEALLOCATE backlog")
    document = json.loads(explained) if isinstance(explained, str) else explained  # json codec
    return _nodes(document[0]["Plan"])


async def test_the_backlog_is_counted_from_the_checkpoint_not_by_reading_the_whole_log(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="relay-tests")
    try:
        log = await _analyzed_log(engine)
        assert len(log) == LOG
        checkpoint = LogPosition(log[-BEHIND - 1].tx_id, log[-BEHIND - 1].global_position)

        nodes = await _plan(engine, checkpoint)

        scans = [node for node in nodes if "Scan" in node["Node Type"]]
        assert "Seq Scan" not in [node["Node Type"] for node in scans], scans
        assert [node.get("Index Name") for node in scans] == ["events_log_order"], scans
        assert scans[0]["Actual Rows"] == BEHIND
        assert (await backlog_after(engine, checkpoint)).behind == BEHIND
    finally:
        await engine.dispose()
