"""`python -m bench.append_statement [--rounds 150] [--prefill 100000]`: the server's side of a
10-event append, piece by piece, against the plain INSERTs of `bench.appends`.

The foundation's rows time the whole path; this times only what PostgreSQL does, so that each
piece the store adds to a plain INSERT (the version probe, `RETURNING`, the per-event type and
schema version arrays, the `tx_id` column and its `(tx_id, global_position)` index, the stream
id's CHECK) can be weighed alone. Every variant is one statement inserting 10 events into an
existing stream at its head, as 9 appends in 10 of the foundation's rows do; tables that differ
from the store's in one respect are copies of `eventstore.events` without it (`variant.*`:
references for what a piece costs, not schemas to adopt). In each round every variant runs
`--statements` statements in one transaction, rolled back, in turn; the round gives the backend's
CPU time per statement (`/proc/<pid>/schedstat`: time on CPU, not waiting for it, so it moves
least with a shared machine's load) and one `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)` execution
time. Medians over the rounds. Runs on a throwaway database, on the same machine as PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import appends
from bench.workload import EVENT_TYPE, make_batch
from helpdesk_shared.db import asyncpg_dsn
from helpdesk_shared.eventstore.alone import FAST_APPEND
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

BATCH = 10
STREAM_LENGTH = 100

VARIANT_TABLES = """
CREATE SCHEMA variant;
CREATE TABLE variant.no_log_order (LIKE eventstore.events INCLUDING ALL);
DROP INDEX variant.no_log_order_tx_id_global_position_idx;
CREATE TABLE variant.log_order_pk
    (LIKE eventstore.events INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS);
ALTER TABLE variant.log_order_pk ADD PRIMARY KEY (tx_id, global_position),
    ADD UNIQUE (stream_id, version), ADD UNIQUE (event_id);
CREATE TABLE variant.no_checks (LIKE eventstore.events INCLUDING ALL);
ALTER TABLE variant.no_checks DROP CONSTRAINT events_stream_id_check,
    DROP CONSTRAINT events_version_check;
"""

TABLES = (
    "eventstore.events",
    f"{appends.PLAIN_SCHEMA}.events",
    f"{appends.PLAIN_SCHEMA}.events_unique",
    "variant.no_log_order",
    "variant.log_order_pk",
    "variant.no_checks",
)

#: Each table gets the same rows: `STREAM_LENGTH` versions of each stream `ticket-<md5(n)>`.
PREFILL = """
INSERT INTO {table} (stream_id, version, event_id, type, schema_version, data, metadata)
SELECT 'ticket-' || md5((g / {length})::text), g % {length} + 1, gen_random_uuid(), $1, 1,
       CAST($2 AS jsonb), CAST($3 AS jsonb)
FROM generate_series(0, $4 - 1) AS g
"""


#: The store's guard that the expected version exists (what `unprobed` replaces).
PROBE = """WHERE CAST($2 AS bigint) = 0 OR EXISTS (
    SELECT 1 FROM eventstore.events WHERE stream_id = $1 AND version = CAST($2 AS bigint)
)"""

#: The store's five arrays; `scalars` sends the plain INSERT's three and the type as a scalar.
STORE_ARRAYS = """CAST($3 AS uuid[]), CAST($4 AS text[]), CAST($5 AS int[]), CAST($6 AS text[]),
    CAST($7 AS text[])"""


@dataclass(frozen=True)
class Variant:
    """One statement on one table, with the arguments it takes (`store`: the store's seven)."""

    label: str
    statement: str
    store: bool


def _on(table: str, statement: str = FAST_APPEND) -> str:
    return statement.replace("eventstore.events", table)


def variants() -> list[Variant]:
    """The plain INSERTs, the store's statement, and the store's with one piece taken away."""
    unreturned = FAST_APPEND.replace("RETURNING version, global_position", "")
    unprobed = FAST_APPEND.replace(PROBE, "WHERE CAST($2 AS bigint) >= 0")
    scalars = (
        FAST_APPEND.replace("n.type, n.schema_version", "$3, 1")
        .replace(STORE_ARRAYS, "CAST($4 AS uuid[]), CAST($5 AS text[]), CAST($6 AS text[])")
        .replace("n(event_id, type, schema_version, data", "n(event_id, data")
    )
    return [
        Variant("plain INSERT, primary key only", appends.PLAIN_INSERT, store=False),
        Variant("plain INSERT, same unique constraints", appends.PLAIN_UNIQUE_INSERT, store=False),
        Variant("store's statement (FAST_APPEND)", FAST_APPEND, store=True),
        Variant("  without RETURNING", unreturned, store=True),
        Variant("  without the version probe", unprobed, store=True),
        Variant("  type and schema version as scalars", scalars, store=False),
        Variant(
            "  plain INSERT's statement, store's table",
            appends.PLAIN_INSERT_INTO.format(table="eventstore.events"),
            store=False,
        ),
        Variant("  table without (tx_id, position) index", _on(TABLES[3]), store=True),
        Variant("  table keyed by (tx_id, position)", _on(TABLES[4]), store=True),
        Variant("  table without CHECKs", _on(TABLES[5]), store=True),
    ]


def _arguments(store: bool, stream: str) -> tuple[Any, ...]:
    """One batch's arguments at the head of `stream`, as the store or the plain INSERT sends
    them (the plain one: the type as a scalar, no schema versions)."""
    events = make_batch(BATCH)
    ids = [e.event_id for e in events]
    datas = [json.dumps(e.data) for e in events]
    metadatas = [json.dumps(e.metadata) for e in events]
    if store:
        return (stream, STREAM_LENGTH, ids, [EVENT_TYPE] * BATCH, [1] * BATCH, datas, metadatas)
    return (stream, STREAM_LENGTH, EVENT_TYPE, ids, datas, metadatas)


def _cpu_ns(pid: int) -> int:
    """The backend's time on CPU so far (the first field of its scheduler statistics)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


@dataclass
class Samples:
    """One variant's figures, a pair per round: kept whole, so the report takes medians."""

    cpu_us: list[float]
    explain_us: list[float]


async def _round(
    conn: asyncpg.Connection, variant: Variant, streams: Callable[[], str], statements: int
) -> tuple[float, float]:
    """CPU per statement over `statements` statements, and one EXPLAIN's execution time."""
    pid = conn.get_server_pid()
    transaction = conn.transaction()
    await transaction.start()
    try:
        before = _cpu_ns(pid)
        for _ in range(statements):
            status = await conn.execute(variant.statement, *_arguments(variant.store, streams()))
            if status != f"INSERT 0 {BATCH}":
                # A statement that stores nothing (its probe found no head) costs less: no figure.
                raise RuntimeError(f"{variant.label}: {status}, not {BATCH} rows")
        cpu = (_cpu_ns(pid) - before) / statements / 1000
        explain = "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) " + variant.statement
        plan = await conn.fetchval(explain, *_arguments(variant.store, streams()))
    finally:
        await transaction.rollback()
    return cpu, json.loads(plan)[0]["Execution Time"] * 1000


async def measure(dsn: str, rounds: int, statements: int, prefill: int) -> str:
    conn = await asyncpg.connect(dsn, server_settings={"plan_cache_mode": "force_generic_plan"})
    try:
        await conn.execute(VARIANT_TABLES)
        event = make_batch(1)[0]
        for table in TABLES:
            fill = PREFILL.format(table=table, length=STREAM_LENGTH)
            await conn.execute(
                fill, EVENT_TYPE, json.dumps(event.data), json.dumps(event.metadata), prefill
            )
        await conn.execute("VACUUM ANALYZE")
        count = max(1, prefill // STREAM_LENGTH)
        query = "SELECT 'ticket-' || md5(g::text) FROM generate_series(0, $1 - 1) AS g"
        names: list[str] = [str(r[0]) for r in await conn.fetch(query, count)]
        turn = itertools.count()

        def streams() -> str:
            return names[next(turn) % count]

        chosen = variants()
        samples = {v.label: Samples([], []) for v in chosen}
        for number in range(rounds):
            ordered = chosen if number % 2 == 0 else chosen[::-1]
            for variant in ordered:
                cpu, explain = await _round(conn, variant, streams, statements)
                samples[variant.label].cpu_us.append(cpu)
                samples[variant.label].explain_us.append(explain)
    finally:
        await conn.close()
    return _report(samples, rounds, statements)


def _report(samples: dict[str, Samples], rounds: int, statements: int) -> str:
    base = statistics.median(samples["plain INSERT, same unique constraints"].cpu_us)
    lines = [
        f"{BATCH} events per statement, {rounds} rounds of {statements} statements: medians of "
        "backend CPU per statement (vs the same-constraints INSERT) | EXPLAIN execution time"
    ]
    for label, taken in samples.items():
        cpu = statistics.median(taken.cpu_us)
        explain = statistics.median(taken.explain_us)
        lines.append(f"{label:44s} {cpu:6.0f} us ({cpu / base:4.2f}x) | {explain:5.0f} us")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> str:
    admin = with_database(args.database_url, "postgres")
    name = f"helpdesk_bench_statement_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    try:
        url = with_database(args.database_url, name)
        await asyncio.to_thread(upgrade_all, url)
        await appends.create_plain_table(asyncpg_dsn(url))
        return await measure(asyncpg_dsn(url), args.rounds, args.statements, args.prefill)
    finally:
        await drop_database(admin, name)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.append_statement", description=__doc__)
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--statements", type=int, default=10)
    parser.add_argument("--prefill", type=int, default=100_000)
    parser.add_argument("--database-url", default=CommonSettings().database_url)
    print(asyncio.run(main_async(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
