"""`python -m bench.run [--quick]`: measure the store, the relay and their baselines in one run.

Everything happens in a throwaway database and under throwaway exchange and queue names on the
configured PostgreSQL and RabbitMQ (`DATABASE_URL`, `AMQP_URL`), all removed at the end. The
report is printed and written to `docs/performance.md` between its generated markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import appends, peer, publish, reads
from bench.config import FULL, QUICK, Sizes
from bench.report import Machine, Row, host_facts, render, write
from bench.timing import Rate, best
from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

COMMAND = "make bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
#: Goals of the issue, as ratios measured in the same run.
APPEND_PLAIN_GOAL, APPEND_PEER_GOAL, READ_GOAL, RELAY_GOAL = 0.8, 3.0, 0.6, 0.9

PREAMBLE = """# Performance

The foundation benchmark (`bench/`) measures, in one run on the same PostgreSQL and
RabbitMQ, the event store's append and read-all rates and the relay's confirmed publish rate, each
beside a plain baseline doing the same work with nothing on top (the limit) and, for appends, the
`eventsourcing` library's PostgreSQL application recorder (a peer).
"""


@dataclass(frozen=True)
class Target:
    """Where this run writes: its own database and broker names on the configured servers."""

    database_url: str
    amqp_url: str
    exchange: str
    queue_prefix: str

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.database_url)


async def measure_appends(target: Target, sizes: Sizes) -> list[Row]:
    """Every (batch, writers) pair for the store, the plain INSERT and the peer."""
    engine = create_engine(target.database_url, pool_size=max(sizes.writers))
    try:
        return [
            await _measure_append(target, engine, sizes, writers, batch)
            for batch in sizes.batches
            for writers in sizes.writers
        ]
    finally:
        await engine.dispose()


async def _measure_append(
    target: Target, engine: AsyncEngine, sizes: Sizes, writers: int, batch: int
) -> Row:
    """`rounds` rounds in which the store, the plain INSERT and the peer take turns."""
    run = (writers, batch, sizes.append_seconds, sizes.warmup_seconds)
    ours: list[Rate] = []
    plain: list[Rate] = []
    peers: list[Rate] = []
    for _ in range(sizes.rounds):
        ours.append(await appends.measure_store(engine, *run))
        plain.append(await appends.measure_plain(target.dsn, *run))
        peers.append(await asyncio.to_thread(peer.measure_peer, target.dsn, *run))
    several = writers > 1
    return Row(
        label=f"Append, {batch} event{'s' if batch > 1 else ''}/tx, "
        f"{writers} writer{'s' if writers > 1 else ''}",
        ours=best(ours),
        plain=best(plain),
        peer=best(peers),
        plain_goal=APPEND_PLAIN_GOAL if several else None,
        peer_goal=APPEND_PEER_GOAL if several else None,
    )


async def measure_reads(target: Target, sizes: Sizes) -> Row:
    """Read-all of `read_events` events (the store topped up first, then vacuumed)."""
    engine = create_engine(target.database_url, pool_size=2)
    try:
        conn = await asyncpg.connect(target.dsn)
        try:
            stored = int(await conn.fetchval("SELECT count(*) FROM eventstore.events"))
            if stored < sizes.read_events:
                await appends.fill_store(EventStore(engine), sizes.read_events - stored)
            await conn.execute("VACUUM ANALYZE eventstore.events")
            await publish.wait_readable(target.dsn)
        finally:
            await conn.close()
        ours, plain = await reads.best_of(
            sizes.rounds,
            engine,
            target.dsn,
            sizes.read_events,
            sizes.read_page,
            sizes.read_max_seconds,
        )
    finally:
        await engine.dispose()
    return Row(
        label=f"Read all, decoded, pages of {sizes.read_page}",
        ours=ours,
        plain=plain,
        plain_goal=READ_GOAL,
    )


async def measure_publishes(target: Target, sizes: Sizes, notes: list[str]) -> Row:
    """Rounds of: append `publish_events` events, publish them plainly, then by the relay.

    Runs last, at the tail of the log the other measurements left (as a relay in production
    follows a long log): the relay's checkpoint is first moved to the end of the log. It connects
    and declares the topology before any clock starts; the queues are purged after each publish.
    """
    engine = create_engine(target.database_url, pool_size=2)
    relay = publish.make_relay(
        engine, target.amqp_url, target.exchange, target.queue_prefix, sizes.publish_batch
    )
    ours: list[Rate] = []
    plain: list[Rate] = []
    try:
        await publish.wait_readable(target.dsn)
        after = await publish.end_of_log(target.dsn)
        await publish.move_checkpoint(target.dsn, relay.checkpoint_name, after)
        await relay.publish_pending()  # connect and declare, nothing to publish yet
        for _ in range(sizes.publish_rounds):
            await appends.fill_store(EventStore(engine), sizes.publish_events)
            await publish.wait_readable(target.dsn)
            events = await publish.read_after(engine, after)
            after = events[-1].log_position
            plain.append(
                await publish.publish_plain(
                    target.amqp_url,
                    target.exchange,
                    target.queue_prefix,
                    events,
                    sizes.publish_batch,
                )
            )
            await _check_routed(target, len(events), "plain publish", notes)
            ours.append(await publish.publish_relay(relay, len(events)))
            await _check_routed(target, len(events), "relay", notes)
    finally:
        await relay.stop()
        await engine.dispose()
    return Row(
        label=f"Publish with confirms, batches of {sizes.publish_batch}",
        ours=best(ours),
        plain=best(plain),
        plain_goal=RELAY_GOAL,
    )


async def _check_routed(target: Target, expected: int, who: str, notes: list[str]) -> None:
    """Every message must have reached every consumer queue; then empty them for the next run."""
    depths = await publish.queue_depths(target.amqp_url, target.queue_prefix)
    if any(count != expected for count in depths.values()):
        notes.append(f"{who}: expected {expected} messages per queue, found {depths}")
    await publish.purge_queues(target.amqp_url, target.queue_prefix)


async def describe_machine(target: Target) -> Machine:
    cpus, model, memory, system, python = host_facts()
    conn = await asyncpg.connect(target.dsn)
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        settings = [
            f"{name}={await conn.fetchval(f'SHOW {name}')}"
            for name in ("synchronous_commit", "fsync", "shared_buffers", "max_wal_size")
        ]
    finally:
        await conn.close()
    broker = await aio_pika.connect(target.amqp_url)
    try:
        transport = broker.transport
        properties = transport.connection.server_properties if transport else {}
        rabbitmq = str(properties.get("version", "unknown"))
    finally:
        await broker.close()
    return Machine(cpus, model, memory, system, python, version, ", ".join(settings), rabbitmq)


async def run_bench(database_url: str, amqp_url: str, sizes: Sizes, mode: str) -> str:
    """Measure everything in a throwaway database and topology; the generated report."""
    run_id = uuid.uuid4().hex[:10]
    admin_url = with_database(database_url, "postgres")
    database = f"helpdesk_bench_{run_id}"
    target = Target(
        database_url=with_database(database_url, database),
        amqp_url=amqp_url,
        exchange=f"helpdesk.bench-{run_id}",
        queue_prefix=f"bench-{run_id}",
    )
    notes = [
        f"best of {sizes.rounds} round(s) per append and read measurement, of"
        f" {sizes.publish_rounds} for publishes; load average at start {_load()}"
    ]
    await create_database(admin_url, database)
    try:
        await asyncio.to_thread(upgrade_all, target.database_url)
        await appends.create_plain_table(target.dsn)
        await asyncio.to_thread(peer.create_peer_schema, target.dsn)
        rows = await measure_appends(target, sizes)
        rows.append(await measure_reads(target, sizes))
        rows.append(await measure_publishes(target, sizes, notes))
        machine = await describe_machine(target)
        notes.append(f"load average at the end {_load()}")
    finally:
        await publish.remove_topology(amqp_url, target.exchange, target.queue_prefix)
        await drop_database(admin_url, database)
    return render(rows, machine, mode, COMMAND, notes)


def _load() -> str:
    """The 1/5/15-minute load averages: a shared machine's neighbours show up here."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    settings = CommonSettings()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="report file")
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--amqp-url", default=settings.amqp_url)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    generated = asyncio.run(run_bench(args.database_url, args.amqp_url, sizes, mode))
    write(args.output, generated, PREAMBLE)
    print(generated)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
