"""Every statement on the large tables, planned as the engine's connections plan them, on an
analyzed history (`python -m bench.plan_audit`; docs/performance.md, "Generic plans on an
analyzed log").

The engine's connections plan each statement once for any values (`plan_cache_mode =
force_generic_plan`); once a table's statistics are known, such a plan may read the whole table
where the values would have kept it to an index. A throwaway database, migrated, is filled with a
desk's history (`bench.growth_data`: tickets' events and list rows), a few problem and article
streams, inbox rows for two consumers, idempotency keys and metrics facts (one ticket in thirty
left open), then `VACUUM ANALYZE`d. Each statement, taken from the code, is `PREPARE`d under the
generic plan and run under `EXPLAIN ANALYZE` with realistic values; the best of three server
times and the plan's scans, with the rows each returned, are printed. The database is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import Select, TextClause
from sqlalchemy.ext.asyncio import create_async_engine

from bench import growth_data
from helpdesk_metrics.adapters.queries.totals import BACKLOG
from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.eventstore import reads
from helpdesk_shared.eventstore.alone import FAST_APPEND_ONE, native
from helpdesk_shared.eventstore.append_sql import APPEND
from helpdesk_shared.http import idempotency
from helpdesk_shared.messaging import consumer
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.relay.backlog import BACKLOG as RELAY_BACKLOG
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database
from helpdesk_ticket.adapters import article_search, snapshots
from helpdesk_ticket.adapters.queries import problems
from helpdesk_ticket.adapters.queries.tickets import follow_up_query
from helpdesk_ticket.settings import Settings as TicketSettings

#: What `growth_data.fill` leaves aside: problems, articles, inbox rows, facts, idempotency keys.
_EXTRAS = """
INSERT INTO eventstore.events (stream_id, version, event_id, type, data)
SELECT 'problem-' || gen_random_uuid(), v, gen_random_uuid(),
       CASE WHEN v = 1 THEN 'ProblemRecorded' ELSE 'IncidentLinked' END,
       jsonb_build_object('ticket_id', gen_random_uuid()::text)
FROM generate_series(1, 60) AS p, generate_series(1, 4) AS v;
INSERT INTO eventstore.events (stream_id, version, event_id, type, data)
SELECT 'article-' || gen_random_uuid(), 1, gen_random_uuid(), 'ArticleDrafted', '{}'
FROM generate_series(1, 40);
INSERT INTO infra.inbox (consumer, event_id, event_type)
SELECT c, event_id, type FROM eventstore.events, unnest(ARRAY['ticket-list', 'notify']) AS c;
UPDATE ticket.tickets SET status = 'closed'
WHERE status NOT IN ('resolved', 'closed') AND abs(hashtext(ticket_id::text)) % 10 <> 0;
INSERT INTO metrics.ticket_facts (ticket_id, reference, type, channel, received_at, opened_at,
    initial_group, initial_level, "group", level, status, priority, closed_at, escalations,
    routings, reopenings, sla_breaches, last_version)
SELECT ticket_id::text, reference, type, channel, received_at, opened_at, group_name, level,
    group_name, level, status, priority, closed_at, 0, 0, 0, 0, version
FROM ticket.tickets;
INSERT INTO infra.idempotency_keys (scope, key, request_hash, status_code, body)
SELECT 'intake', 'k' || n, 'h', 201, '{}' FROM generate_series(1, 20000) AS n;
"""

Case = tuple[str, str, Sequence[str]]


def _sql(statement: TextClause | Select[object], names: Sequence[str] = ()) -> str:
    if isinstance(statement, TextClause):
        return native(statement, names)
    return str(statement.compile(dialect=create_async_engine("postgresql+asyncpg://").dialect))


async def _cases(conn: asyncpg.Connection) -> list[Case]:
    tail = await conn.fetchrow(
        """SELECT tx_id::text AS tx, global_position::text AS position FROM eventstore.events
        ORDER BY tx_id DESC, global_position DESC OFFSET 30 LIMIT 1"""
    )
    stream = await conn.fetchval("SELECT stream_id FROM eventstore.events LIMIT 1")
    head = str(await conn.fetchval(_sql(reads.STREAM_VERSION, ("stream_id",)), stream))
    event = await conn.fetchval("SELECT max(event_id::text) FROM eventstore.events")
    new, after = str(uuid.uuid4()), (tail["tx"], tail["position"])
    follow_sql, follow = follow_up_query(*_follow_up_times())
    positions = ("tx_id", "position", "limit")
    return [
        ("append, full", _sql(APPEND, _APPEND), (stream, head, f"{{{new}}}", *_ONE_EVENT)),
        ("append, one event", FAST_APPEND_ONE, (stream, head, new, "Noted", "1", "{}", "{}")),
        ("read stream", _sql(reads.READ_STREAM, _STREAM), (stream, "1", str(2**62))),
        ("stream head", _sql(reads.STREAM_VERSION, ("stream_id",)), (stream,)),
        ("read_all at the tail", _sql(reads.READ_ALL, positions), (*after, "500")),
        ("relay's read at the tail", _sql(reads.READ_OUTGOING, positions), (*after, "500")),
        ("relay backlog", _sql(RELAY_BACKLOG, ("tx_id", "position", "bound")), (*after, "100000")),
        ("snapshot and events", snapshots._LOAD_WITH_EVENTS_NATIVE, (stream, "1", str(2**31))),
        ("problems", _sql(problems._ALL, ("limit",)), ("50",)),
        ("problems of a ticket", _sql(problems._LINKING, ("ticket_id", "limit")), (new, "50")),
        ("article ids (rebuild)", _sql(article_search._ARTICLE_STREAMS), ()),
        ("inbox handled", _sql(consumer._HANDLED, ("consumer", "event_id")), ("notify", event)),
        ("idempotency", _sql(idempotency._FIND, ("scope", "key")), ("intake", "k1")),
        ("follow-up", _sql(follow_sql, list(follow)), [str(v) for v in follow.values()]),
        ("metrics backlog totals", _sql(BACKLOG), ("none",)),
    ]


_APPEND = ("stream_id", "expected", "event_ids", "types", "schema_versions", "datas", "metadatas")
_ONE_EVENT = ("{Noted}", "{1}", '{"{}"}', '{"{}"}')
_STREAM = ("stream_id", "from_version", "to_version")


def _follow_up_times() -> tuple[datetime, timedelta, timedelta]:
    return datetime.now(UTC), timedelta(days=3), timedelta(hours=4)


async def _server_ms(conn: asyncpg.Connection, sql: str, values: Sequence[str]) -> list[str]:
    """The plan's lines of one execution, rolled back (the appends store nothing)."""
    listed = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    arguments = f"({listed})" if values else ""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"PREPARE audited AS {sql}")
        rows = await conn.fetch(f"EXPLAIN ANALYZE EXECUTE audited{arguments}")
        return [str(row[0]) for row in rows]
    finally:
        await transaction.rollback()
        await conn.execute("DEALLOCATE audited")


async def _explain(conn: asyncpg.Connection, case: Case) -> str:
    """One line: the best of three server times and the plan's scans (rows returned)."""
    name, sql, values = case
    best: tuple[float, list[str]] | None = None
    for _ in range(3):
        lines = await _server_ms(conn, sql, values)
        ms = float(lines[-1].split(":")[1].split()[0])
        if best is None or ms < best[0]:
            best = (ms, lines)
    assert best is not None
    scans = [_scan(line) for line in best[1] if "Scan" in line and "actual" in line]
    return f"{name}: {best[0]:.2f} ms; {'; '.join(scans)}"


def _scan(line: str) -> str:
    node = line.strip().removeprefix("->  ").split("  (")[0]
    return f"{node} ({line.split('rows=')[-1].split()[0]} rows)"


async def _fill(url: str, tickets: int) -> None:
    dsn = asyncpg_dsn(url)
    await growth_data.fill(dsn, 0, tickets, TicketSettings(database_url=url).policy())
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_EXTRAS)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def audit(database_url: str, tickets: int) -> list[str]:
    """The audit's lines, on a database of its own dropped at the end."""
    admin = with_database(database_url, "postgres")
    name = f"helpdesk_bench_plans_{uuid.uuid4().hex[:10]}"
    url = with_database(database_url, name)
    await create_database(admin, name)
    try:
        await asyncio.to_thread(upgrade_all, url)
        await _fill(url, tickets)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            events = await conn.fetchval("SELECT count(*) FROM eventstore.events")
            lines = [f"{events:,} events, {tickets:,} tickets, analyzed"]
            for case in await _cases(conn):
                lines.append(await _explain(conn, case))
            return lines
        finally:
            await conn.close()
    finally:
        await drop_database(admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=34_000, help="about 8.7 events each")
    args = parser.parse_args()
    for line in asyncio.run(audit(CommonSettings().database_url, args.tickets)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
