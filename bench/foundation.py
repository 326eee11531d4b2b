"""The foundation's rows of `make bench`: the event store's appends and read-all, the relay.

Each beside a plain baseline doing the same work with nothing on top, measured in the same run:
appends against plain asyncpg INSERTs of the same rows (and the `eventsourcing` library's
PostgreSQL recorder, a peer), read-all against the same pages read with asyncpg, the relay
against aio-pika publishing the same messages in confirmed batches. Everything happens in a
throwaway database and under throwaway exchange and queue names, removed however the run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import appends, peer, publish, reads
from bench.config import FULL, QUICK, Sizes
from bench.report import table
from bench.summary import SummaryRow, load_during
from bench.timing import Rate, best
from helpdesk_shared.db import asyncpg_dsn, create_engine
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.relay.relay import Relay
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

#: The team's goals, as ratios to a baseline measured in the same run.
ONE_EVENT_PLAIN_GOAL, BATCH_PLAIN_GOAL, CONSTRAINED_GOAL, PEER_GOAL = 0.6, 0.8, 0.8, 3.0
READ_GOAL, RELAY_GOAL = 0.6, 0.9


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


def _row(
    path: str, ours: Rate, base: Rate, label: str, goal: float, load: float, rounds: int
) -> SummaryRow:
    ratio = ours.per_second / base.per_second if base.per_second else 0.0
    return SummaryRow(
        path=path,
        figure=ours.per_second,
        unit="events/s",
        baseline=base.per_second,
        baseline_label=label,
        goal=f">= {goal:g}x {label}",
        met=ratio >= goal,
        load=load,
        rounds=rounds,
    )


async def _rounds(rounds: int, measure: Callable[[], Awaitable[Rate]]) -> Rate:
    return best([await measure() for _ in range(rounds)])


async def append_rows(target: Target, sizes: Sizes) -> list[SummaryRow]:
    """Per batch size and writer count, the store against the plain INSERT, taking turns.

    The peer takes its turns for one event per transaction only, the row its goal is about.
    """
    engine = create_engine(target.database_url, pool_size=max(sizes.writers))
    out: list[SummaryRow] = []
    try:
        for batch in sizes.batches:
            for writers in sizes.writers:
                out += await _append_rows(target, engine, sizes, writers, batch)
    finally:
        await engine.dispose()
    return out


async def _append_rows(
    target: Target, engine: AsyncEngine, sizes: Sizes, writers: int, batch: int
) -> list[SummaryRow]:
    run = (writers, batch, sizes.append_seconds, sizes.warmup_seconds)
    ours: list[Rate] = []
    plain: list[Rate] = []
    peers: list[Rate] = []
    same: list[Rate] = []
    with load_during() as load:
        for _ in range(sizes.rounds):
            ours.append(await appends.measure_store(engine, *run))
            plain.append(await appends.measure_plain(target.dsn, *run))
            # Into a table with the events table's unique constraints: what a safe append must
            # pay in any case (index upkeep), which the primary-key-only INSERT leaves out.
            same.append(await appends.measure_plain(target.dsn, *run, unique=True))
            if batch == 1:
                peers.append(await asyncio.to_thread(peer.measure_peer, target.dsn, *run))
    path = f"appends, {batch} event{'s' if batch > 1 else ''}/tx, {writers} writers"
    goal = ONE_EVENT_PLAIN_GOAL if batch == 1 else BATCH_PLAIN_GOAL
    label = "plain INSERT, primary key only"
    rows = [_row(path, best(ours), best(plain), label, goal, load.mean, sizes.rounds)]
    label = "plain INSERT, same unique constraints"
    rows.append(
        _row(path, best(ours), best(same), label, CONSTRAINED_GOAL, load.mean, sizes.rounds)
    )
    if peers:
        rows.append(
            _row(
                path,
                best(ours),
                best(peers),
                "peer (eventsourcing)",
                PEER_GOAL,
                load.mean,
                sizes.rounds,
            )
        )
    return rows


async def read_row(target: Target, sizes: Sizes) -> SummaryRow:
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
        with load_during() as load:
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
    path = f"read_all, decoded, pages of {sizes.read_page}"
    return _row(
        path, ours, plain, "asyncpg reading the same pages", READ_GOAL, load.mean, sizes.rounds
    )


async def relay_row(target: Target, sizes: Sizes) -> SummaryRow:
    """Rounds of: append `publish_events` events, publish them plainly and by the relay, in turn.

    At the tail of the log the other measurements left, as a relay in production follows a long
    log: its checkpoint is first moved to the end. It connects and declares the topology before
    any clock starts; each publish must reach every consumer queue, emptied after it.
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
        await relay.publish_pending()
        with load_during() as load:
            for round_ in range(sizes.publish_rounds):
                await appends.fill_store(EventStore(engine), sizes.publish_events)
                await publish.wait_readable(target.dsn)
                events = await publish.read_after(engine, after)
                after = events[-1].log_position
                # Turn and turn about, as `bench.relay_paths` does: the broker is still busy with
                # the first publish's queues when the second one starts.
                rates = await _publish_round(target, relay, events, sizes, round_ % 2 == 1)
                plain.append(rates[0])
                ours.append(rates[1])
    finally:
        await relay.stop()
        await engine.dispose()
    label = "aio-pika batched confirmed publish"
    return _row(
        f"relay, confirmed publish, batches of {sizes.publish_batch}",
        best(ours),
        best(plain),
        label,
        RELAY_GOAL,
        load.mean,
        sizes.publish_rounds,
    )


async def _publish_round(
    target: Target,
    relay: Relay,
    events: list[RecordedEvent],
    sizes: Sizes,
    relay_first: bool,
) -> tuple[Rate, Rate]:
    """The plain publish's rate and the relay's, over the same `events`, in the order given."""

    async def plainly() -> Rate:
        rate = await publish.publish_plain(
            target.amqp_url, target.exchange, target.queue_prefix, events, sizes.publish_batch
        )
        await _check_routed(target, len(events), "plain publish")
        return rate

    async def by_relay() -> Rate:
        rate = await publish.publish_relay(relay, len(events))
        await _check_routed(target, len(events), "relay")
        return rate

    if relay_first:
        ours = await by_relay()
        return await plainly(), ours
    plain = await plainly()
    return plain, await by_relay()


async def _check_routed(target: Target, expected: int, who: str) -> None:
    """Every message must have reached every consumer queue: a rate of lost messages is no rate."""
    depths = await publish.queue_depths(target.amqp_url, target.queue_prefix)
    if any(count != expected for count in depths.values()):
        raise RuntimeError(f"{who}: expected {expected} messages per queue, found {depths}")
    await publish.purge_queues(target.amqp_url, target.queue_prefix)


async def summary_rows(quick: bool, *, appends_only: bool = False) -> list[SummaryRow]:
    """Appends, read-all and the relay (the appends alone when `appends_only`), in a throwaway
    database and topology."""
    settings = CommonSettings()
    sizes = QUICK if quick else FULL
    run_id = uuid.uuid4().hex[:10]
    admin_url = with_database(settings.database_url, "postgres")
    database = f"helpdesk_bench_{run_id}"
    target = Target(
        database_url=with_database(settings.database_url, database),
        amqp_url=settings.amqp_url,
        exchange=f"helpdesk.bench-{run_id}",
        queue_prefix=f"bench-{run_id}",
    )
    await create_database(admin_url, database)
    try:
        await asyncio.to_thread(upgrade_all, target.database_url)
        await appends.create_plain_table(target.dsn)
        await asyncio.to_thread(peer.create_peer_schema, target.dsn)
        rows = await append_rows(target, sizes)
        if not appends_only:
            rows.append(await read_row(target, sizes))
            rows.append(await relay_row(target, sizes))
    finally:
        if not appends_only:
            await publish.remove_topology(settings.amqp_url, target.exchange, target.queue_prefix)
        await drop_database(admin_url, database)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.foundation [--appends-only] [--quick]`: these rows alone, as `make bench`
    measures them (`--appends-only`: the append rows, about 40 s), printed as its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.foundation", description=__doc__)
    parser.add_argument("--appends-only", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(table(asyncio.run(summary_rows(args.quick, appends_only=args.appends_only))))


if __name__ == "__main__":
    main()
