"""The daily follow-up, planned as the service's connections plan it, on a list whose statistics
PostgreSQL knows: it reads the open tickets' index, not the whole list, whose closed tickets
grow with the desk's history (docs/performance.md, "Generic plans on an analyzed log")."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_testkit.plans import generic_plan, scans_of, vacuum_analyze
from helpdesk_ticket.adapters.queries.tickets import follow_up, follow_up_query

#: A desk's history: many tickets closed or resolved, a few still open (one in fifty).
TICKETS = 5000
OPEN_EVERY = 50
NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)

#: Rows of the list, every one idle for a week; ticket n is open when n % OPEN_EVERY == 0.
_FILL = text(
    """INSERT INTO ticket.tickets (ticket_id, reference, type, status, group_name, level,
        requester, requester_name, subject, description, channel, admissibility, received_at,
        opened_at, last_activity_at, version)
    SELECT gen_random_uuid(), 'INC-' || n, 'incident',
        CASE WHEN n % :open_every = 0 THEN 'in_progress'
             WHEN n % 2 = 0 THEN 'closed' ELSE 'resolved' END,
        'desk', 1, 'user-' || n, 'User ' || n, 'Imprimante bloquée', 'Elle ne répond plus.',
        'portal', 'admissible', CAST(:at AS timestamptz) - n * interval '1 hour',
        CAST(:at AS timestamptz) - n * interval '1 hour',
        CAST(:at AS timestamptz), 1
    FROM generate_series(1, :tickets) AS n"""
)


async def test_the_follow_up_reads_the_open_tickets_not_the_whole_list(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="follow-up-tests")
    try:
        async with engine.begin() as conn:
            week_ago = NOW - timedelta(days=7)
            params = {"open_every": OPEN_EVERY, "at": week_ago, "tickets": TICKETS}
            await conn.execute(_FILL, params)
        await vacuum_analyze(engine, "ticket.tickets")
        sql, params = follow_up_query(NOW, timedelta(days=3), timedelta(hours=4))

        scans = scans_of(await generic_plan(engine, sql, params))

        assert "Seq Scan" not in [scan["Node Type"] for scan in scans], scans
        assert "tickets_open_activity" in [scan.get("Index Name") for scan in scans], scans
        assert len(await follow_up(engine, NOW, timedelta(days=3), timedelta(hours=4))) == (
            TICKETS // OPEN_EVERY
        )
    finally:
        await engine.dispose()
