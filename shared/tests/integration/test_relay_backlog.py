"""The relay's backlog measure, planned as the relay's connections plan it, on a log whose
statistics PostgreSQL knows: it walks the log's index from the checkpoint, never the whole log
(docs/performance.md, the relay's row)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import Routed
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.relay.backlog import BACKLOG, backlog_after, backlog_parameters
from helpdesk_testkit.plans import generic_plan, scans_of, vacuum_analyze

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
    await vacuum_analyze(engine, "eventstore.events")
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT tx_id::text::bigint AS tx_id, global_position FROM eventstore.events "
                "ORDER BY tx_id, global_position"
            )
        )
        return list(rows)


async def test_the_backlog_is_counted_from_the_checkpoint_not_by_reading_the_whole_log(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="relay-tests")
    try:
        log = await _analyzed_log(engine)
        assert len(log) == LOG
        checkpoint = LogPosition(log[-BEHIND - 1].tx_id, log[-BEHIND - 1].global_position)

        # Prepared on one of the engine's connections, as asyncpg prepares it for the relay.
        scans = scans_of(await generic_plan(engine, BACKLOG, backlog_parameters(checkpoint)))
        assert "Seq Scan" not in [node["Node Type"] for node in scans], scans
        assert [node.get("Index Name") for node in scans] == ["events_log_order"], scans
        assert scans[0]["Actual Rows"] == BEHIND
        assert (await backlog_after(engine, checkpoint)).behind == BEHIND
    finally:
        await engine.dispose()
