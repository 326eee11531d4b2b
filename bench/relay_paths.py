"""The relay's publish rate beside the same relay building its messages the decoded way, and the
plain aio-pika batched publish, side by side in one short run (`python -m bench.relay_paths`).

The relay writes each envelope around the body's stored JSON text and publishes with prebuilt
AMQP properties. The decoded way is how it published before: `read_all` (the body and metadata
decoded), `to_cloudevent_message` (the body encoded again, an aio-pika `Message`) and
`exchange.publish`. Each round appends `events` events untimed, then publishes them with the
plain publisher, the relay, and the relay the decoded way (their order turning each round, so
that a drift of the shared machine does not favour one), each from the same checkpoint and each
checked to reach every consumer queue. The best and the median round of each are reported, with
the client CPU per event. `--log N` stores N events first, so that the rounds publish at the tail
of a long log (the foundation's relay row publishes after the append and read rows' events);
`--analyze` then runs `VACUUM ANALYZE` on the events table, as the foundation's read row does
before the relay row (and autovacuum does sooner or later in production). `--kept` adds the
relay as the foundation's row and production run it: one relay, on the engine that appends,
kept connected across the rounds and idle between them, resuming from where it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import uuid
from collections.abc import Awaitable, Callable
from unittest import mock

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import appends, publish
from bench.foundation import Target, _check_routed
from bench.summary import load_during
from bench.timing import Rate, best
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.base import routing_key_for
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import to_cloudevent_message
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.relay import publishing
from helpdesk_shared.relay.publishing import BatchPublisher, PublishingBatch
from helpdesk_shared.relay.relay import Relay
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database


def _decoded_start(self: BatchPublisher, batch: list[RecordedEvent]) -> PublishingBatch:
    """`BatchPublisher.start` as it was: an aio-pika `Message` of the decoded event each."""
    exchange = self.open_exchange()
    assert exchange is not None
    publishes = [
        asyncio.ensure_future(
            exchange.publish(
                to_cloudevent_message(event, publish.SOURCE),
                routing_key_for(event.category, event.type),
                mandatory=False,
                timeout=publish.PUBLISH_TIMEOUT,
            )
        )
        for event in batch
    ]
    return PublishingBatch(batch[-1].log_position, batch[-1].recorded_at, publishes)


async def _relay_round(target: Target, after: LogPosition, events: int, decoded: bool) -> Rate:
    """One catch-up of `events` events from `after`, connected before the clock starts."""
    engine = create_engine(target.database_url, pool_size=2)
    relay = publish.make_relay(engine, target.amqp_url, target.exchange, target.queue_prefix, 500)
    store = EventStore(engine)

    async def read_decoded(_: object, position: LogPosition, limit: int) -> list[RecordedEvent]:
        return await store.read_all(position, limit)

    try:
        await publish.move_checkpoint(target.dsn, relay.checkpoint_name, after)
        await relay._ensure_exchange()  # connect and declare, untimed
        if not decoded:
            return await publish.publish_relay(relay, events)
        with (
            mock.patch("helpdesk_shared.relay.relay.read_outgoing", read_decoded),
            mock.patch.object(publishing.BatchPublisher, "start", _decoded_start),
        ):
            return await publish.publish_relay(relay, events)
    finally:
        await relay.stop()
        await engine.dispose()


async def run(rounds: int, events: int, log: int = 0, *, analyze: bool, kept: bool) -> None:
    settings = CommonSettings()
    run_id = uuid.uuid4().hex[:10]
    admin_url = with_database(settings.database_url, "postgres")
    database = f"helpdesk_bench_{run_id}"
    target = Target(
        with_database(settings.database_url, database),
        settings.amqp_url,
        f"helpdesk.bench-{run_id}",
        f"bench-{run_id}",
    )
    await create_database(admin_url, database)
    names = ["plain", "relay", "relay, decoded"] + (["relay, kept"] if kept else [])
    rates: dict[str, list[Rate]] = {name: [] for name in names}
    try:
        await asyncio.to_thread(upgrade_all, target.database_url)
        engine = create_engine(target.database_url, pool_size=2)
        after = LogPosition.start()
        if log:  # a long log already published: the rounds read at its tail, as in production
            await appends.fill_store(EventStore(engine), log)
            await publish.wait_readable(target.dsn)
            after = await publish.end_of_log(target.dsn)
        if analyze:
            await _vacuum_analyze(target)
        relay = await _kept_relay(target, engine, after) if kept else None
        try:
            with load_during() as load:
                for n in range(rounds):
                    await appends.fill_store(EventStore(engine), events)
                    await publish.wait_readable(target.dsn)
                    stored = await publish.read_after(engine, after)
                    await _round(target, n, after, stored, rates, relay)
                    after = stored[-1].log_position
                    load.sample()
        finally:
            if relay is not None:
                await relay.stop()
            await engine.dispose()
    finally:
        await publish.remove_topology(settings.amqp_url, target.exchange, target.queue_prefix)
        await drop_database(admin_url, database)
    _report(rates, load.samples)


async def _vacuum_analyze(target: Target) -> None:
    conn = await asyncpg.connect(target.dsn)
    try:
        await conn.execute("VACUUM ANALYZE eventstore.events")
    finally:
        await conn.close()


async def _kept_relay(target: Target, engine: AsyncEngine, after: LogPosition) -> Relay:
    """The foundation row's relay: on the appending engine, started at `after`, connected and
    through one empty catch-up pass before the rounds; a checkpoint of its own."""
    relay = publish.make_relay(engine, target.amqp_url, target.exchange, target.queue_prefix, 500)
    relay.checkpoint_name += ":kept"
    await publish.move_checkpoint(target.dsn, relay.checkpoint_name, after)
    await relay.publish_pending()
    return relay


async def _round(
    target: Target,
    n: int,
    after: LogPosition,
    stored: list[RecordedEvent],
    rates: dict[str, list[Rate]],
    kept: Relay | None,
) -> None:
    """Each publisher once over the same `stored` events, in an order turning with `n`."""
    measures: dict[str, Callable[[], Awaitable[Rate]]] = {
        "plain": lambda: publish.publish_plain(
            target.amqp_url, target.exchange, target.queue_prefix, stored, 500
        ),
        "relay": lambda: _relay_round(target, after, len(stored), decoded=False),
        "relay, decoded": lambda: _relay_round(target, after, len(stored), decoded=True),
    }
    if kept is not None:
        measures["relay, kept"] = lambda: publish.publish_relay(kept, len(stored))
    names = list(measures)
    n %= len(names)
    for name in names[n:] + names[:n]:
        rates[name].append(await measures[name]())
        await _check_routed(target, len(stored), name)


def _report(rates: dict[str, list[Rate]], loads: list[float]) -> None:
    plain = best(rates["plain"]).per_second
    plain_median = statistics.median(r.per_second for r in rates["plain"])
    for name, measured in rates.items():
        top = best(measured)
        median = statistics.median(r.per_second for r in measured)
        rounds = ", ".join(
            f"{r.per_second:,.0f} ({r.cpu_per_event * 1e6:.0f} µs)" for r in measured
        )
        print(
            f"{name:15} best {top.per_second:7,.0f}/s ({top.per_second / plain:.2f}x plain), "
            f"median {median:7,.0f}/s ({median / plain_median:.2f}x), "
            f"{top.cpu_per_event * 1e6:4.0f} µs CPU/event; rounds (CPU/event): {rounds}"
        )
    print(f"load average during the run: {min(loads):.1f}-{max(loads):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument(
        "--log", type=int, default=0, help="events stored (untimed) before the first round"
    )
    parser.add_argument("--analyze", action="store_true", help="VACUUM ANALYZE after --log")
    parser.add_argument("--kept", action="store_true", help="also one relay kept across rounds")
    options = parser.parse_args()
    asyncio.run(
        run(options.rounds, options.events, options.log, analyze=options.analyze, kept=options.kept)
    )


if __name__ == "__main__":
    main()
