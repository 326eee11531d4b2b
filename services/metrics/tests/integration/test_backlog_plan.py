"""`/metrics`' backlog totals, planned as the service's connections plan them, on facts whose
statistics PostgreSQL knows: they read the open tickets' index, not every fact ever projected
(docs/performance.md, "Generic plans on an analyzed log")."""

from sqlalchemy import text

from helpdesk_metrics.adapters.queries.totals import BACKLOG, read_totals
from helpdesk_shared.db import create_engine
from helpdesk_testkit.plans import generic_plan, scans_of, vacuum_analyze

#: A year of facts: most tickets closed, one in fifty still open.
TICKETS = 5000
OPEN_EVERY = 50

_FILL = text(
    """INSERT INTO metrics.ticket_facts (ticket_id, reference, type, channel, received_at,
        opened_at, initial_group, initial_level, "group", level, status, priority,
        escalations, routings, reopenings, sla_breaches, last_version)
    SELECT 'ticket-' || n, 'INC-' || n, 'incident', 'portal', now(), now(), 'desk', 1, 'desk',
        1, CASE WHEN n % :open_every = 0 THEN 'in_progress' ELSE 'closed' END, 'P3',
        0, 0, 0, 0, 1
    FROM generate_series(1, :tickets) AS n"""
)


async def test_the_backlog_reads_the_open_tickets_not_every_fact(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="backlog-tests")
    try:
        async with engine.begin() as conn:
            await conn.execute(_FILL, {"open_every": OPEN_EVERY, "tickets": TICKETS})
        await vacuum_analyze(engine, "metrics.ticket_facts")

        scans = scans_of(await generic_plan(engine, BACKLOG))

        assert [scan.get("Index Name") for scan in scans] == ["ticket_facts_open_idx"], scans
        assert scans[0]["Actual Rows"] == TICKETS // OPEN_EVERY
        async with engine.connect() as conn:
            backlog = (await read_totals(conn)).backlog
        assert backlog == {("in_progress", 1, "desk", "P3"): TICKETS // OPEN_EVERY}
    finally:
        await engine.dispose()
