"""The relay's publish rate beside the same relay building its messages the decoded way, and the
plain aio-pika batched publish, side by side in one short run (`python -m bench.relay_paths`).

The relay writes each envelope around the body's stored JSON text and publishes with prebuilt
AMQP properties. The decoded way is how it published before: `read_all` (the body and metadata
decoded), `to_cloudevent_message` (the body encoded again, an aio-pika `Message`) and
`exchange.publish`. Each round appends `events` events untimed, then publishes them with the
plain publisher, the relay, and the relay the decoded way (their order turning each round, so
that a drift of the shared machine does not favour one), each from the same checkpoint and each
checked to reach every consumer queue. The best round of each is reported, with the client CPU
per event. `--log N` stores N events first, so that the rounds publish at the tail of a long log
(the foundation's relay row publishes after the append and read rows' events).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from unittest import mock

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


async def run(rounds: int, events: int, log: int = 0) -> None:
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
    rates: dict[str, list[Rate]] = {"plain": [], "relay": [], "relay, decoded": []}
    try:
        await asyncio.to_thread(upgrade_all, target.database_url)
        engine = create_engine(target.database_url, pool_size=2)
        after = LogPosition.start()
        if log:  # a long log already published: the rounds read at its tail, as in production
            await appends.fill_store(EventStore(engine), log)
            await publish.wait_readable(target.dsn)
            after = await publish.end_of_log(target.dsn)
        with load_during() as load:
            for n in range(rounds):
                await appends.fill_store(EventStore(engine), events)
                await publish.wait_readable(target.dsn)
                stored = await publish.read_after(engine, after)
                await _round(target, n, after, stored, rates)
                after = stored[-1].log_position
        await engine.dispose()
    finally:
        await publish.remove_topology(settings.amqp_url, target.exchange, target.queue_prefix)
        await drop_database(admin_url, database)
    _report(rates, load.mean)


async def _round(
    target: Target,
    n: int,
    after: LogPosition,
    stored: list[RecordedEvent],
    rates: dict[str, list[Rate]],
) -> None:
    """Each publisher once over the same `stored` events, in an order turning with `n`."""
    measures: dict[str, Callable[[], Awaitable[Rate]]] = {
        "plain": lambda: publish.publish_plain(
            target.amqp_url, target.exchange, target.queue_prefix, stored, 500
        ),
        "relay": lambda: _relay_round(target, after, len(stored), decoded=False),
        "relay, decoded": lambda: _relay_round(target, after, len(stored), decoded=True),
    }
    names = list(measures)
    for name in names[n % 3 :] + names[: n % 3]:
        rates[name].append(await measures[name]())
        await _check_routed(target, len(stored), name)


def _report(rates: dict[str, list[Rate]], load: float) -> None:
    plain = best(rates["plain"]).per_second
    for name, measured in rates.items():
        top = best(measured)
        rounds = ", ".join(
            f"{r.per_second:,.0f} ({r.cpu_per_event * 1e6:.0f} µs)" for r in measured
        )
        print(
            f"{name:15} best {top.per_second:7,.0f}/s ({top.per_second / plain:.2f}x plain), "
            f"{top.cpu_per_event * 1e6:4.0f} µs CPU/event; rounds (CPU/event): {rounds}"
        )
    print(f"load average during the run: {load:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument(
        "--log", type=int, default=0, help="events stored (untimed) before the first round"
    )
    options = parser.parse_args()
    asyncio.run(run(options.rounds, options.events, options.log))


if __name__ == "__main__":
    main()
