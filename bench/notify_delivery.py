"""`python -m bench.notify_delivery [--quick]`: notify's delivery rate and latency.

The whole path runs for real: tickets opened in the event store, the relay publishing them to
RabbitMQ, notify's consumer and handler (ledger rows, ticket views, SMTP with aiosmtplib) and a
local SMTP server (aiosmtpd) that notes when it accepted each mail. Two measurements:

- steady: tickets opened at a fixed rate (50/s); the latency from each event's recording in the
  store to the acceptance of its confirmation mail, p50/p99 (goal: p99 under 250 ms);
- burst: many tickets opened at once; mails accepted per second until the last one.

Beside them, in the same run and on the same SMTP server, the baseline: as many prepared mails
handed over by aiosmtplib alone on one connection (`bench.notify_baseline`), steady then burst;
its latency runs from the hand-over to the acceptance.

Everything happens in a throwaway database and under throwaway exchange and queue names.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.notify_baseline import PlainSender
from helpdesk_notify.adapters.smtp import SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.domain.notifications import Routing
from helpdesk_notify.settings import Settings as NotifySettings
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    PreQualification,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.topology import ConsumerQueue, delete_topology
from helpdesk_shared.migrations import upgrade_all
from helpdesk_shared.relay.relay import Relay
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.servers import create_database, drop_database, with_database

CONSUMER = "notify"
_TICKET_ID = re.compile(rb"Message-ID: <ticket-([0-9a-f-]{36})@", re.IGNORECASE)


@dataclass
class Acceptances:
    """aiosmtpd handler: when each ticket's mail was accepted (wall clock, server thread)."""

    at: dict[uuid.UUID, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        accepted = time.time()
        found = _TICKET_ID.search(envelope.content)
        if found:
            with self.lock:
                self.at[uuid.UUID(found.group(1).decode())] = accepted
        return "250 accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.at)

    def clear(self) -> None:
        with self.lock:
            self.at.clear()


@dataclass(frozen=True)
class Result:
    name: str
    mails: int
    seconds: float
    latencies_ms: list[float]

    def line(self) -> str:
        ordered = sorted(self.latencies_ms)
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        rate = self.mails / self.seconds
        return (
            f"| {self.name} | {self.mails} | {rate:.1f} | {p50:.0f} | {p99:.0f} "
            f"| {max(ordered):.0f} |"
        )


def opened(ticket_id: uuid.UUID, n: int) -> TicketOpened:
    now = datetime.now(UTC)
    return TicketOpened(
        ticket_id=ticket_id,
        occurred_at=now,
        reference=f"INC-2026-{n:06d}",
        type=TicketType.INCIDENT,
        channel=Channel.WEB,
        requester=RequesterSnapshot(login=f"u{n}", name=f"User {n}", email=f"u{n}@ac-paris.fr"),
        subject="Poste de travail lent",
        description="Le poste met plusieurs minutes à démarrer.",
        pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
        received_at=now,
    )


async def open_ticket(store: EventStore, n: int) -> uuid.UUID:
    ticket_id = uuid.uuid4()
    event = NewEvent.from_domain(opened(ticket_id, n))
    await store.append(f"ticket-{ticket_id}", ExpectedVersion.NO_STREAM, [event])
    return ticket_id


async def wait_for(acceptances: Acceptances, expected: int, within: float) -> None:
    deadline = time.monotonic() + within
    while acceptances.count() < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{acceptances.count()} of {expected} mails after {within}s")
        await asyncio.sleep(0.01)


async def recorded_at(engine: AsyncEngine) -> dict[uuid.UUID, float]:
    """Each ticket's opening time as stored (the event's recording)."""
    events = await EventStore(engine).read_all(LogPosition.start(), 1_000_000)
    return {uuid.UUID(e.stream_id[7:]): e.recorded_at.timestamp() for e in events}


async def steady(store: EventStore, acceptances: Acceptances, rate: int, seconds: float) -> float:
    """Open `rate` tickets a second for `seconds`; the time until the last mail was accepted."""
    total = int(rate * seconds)
    started = time.monotonic()
    for n in range(total):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        await open_ticket(store, n)
    await wait_for(acceptances, total, within=120)
    return time.monotonic() - started


async def burst(store: EventStore, acceptances: Acceptances, count: int, offset: int) -> float:
    """Open `count` tickets at once (16 writers); the time until the last mail was accepted."""
    started = time.monotonic()
    limit = asyncio.Semaphore(16)

    async def one(n: int) -> None:
        async with limit:
            await open_ticket(store, offset + n)

    await asyncio.gather(*(one(n) for n in range(count)))
    await wait_for(acceptances, offset + count, within=300)
    return time.monotonic() - started


def latencies(
    recorded: dict[uuid.UUID, float], acceptances: Acceptances, tickets: set[uuid.UUID]
) -> list[float]:
    return [(acceptances.at[t] - recorded[t]) * 1000 for t in tickets]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Target:
    """This run's database and broker names, and its SMTP server."""

    url: str
    amqp_url: str
    exchange: str
    prefix: str
    smtp_port: int


async def run(database_url: str, amqp_url: str, rate: int, seconds: float, count: int) -> str:
    """Both measurements in a throwaway database and topology; the report as a table."""
    results = await measure_all(database_url, amqp_url, rate, seconds, count)
    header = "| run | mails | mails/s | p50 ms | p99 ms | max ms |"
    return "\n".join([header, "| --- " * 6 + "|", *(r.line() for r in results)])


async def measure_all(
    database_url: str, amqp_url: str, rate: int, seconds: float, count: int
) -> list[Result]:
    """The baseline's rows, then notify's: steady at `rate`, then a burst of `count`."""
    run_id = uuid.uuid4().hex[:10]
    admin_url = with_database(database_url, "postgres")
    database = f"helpdesk_bench_notify_{run_id}"
    target = Target(
        with_database(database_url, database),
        amqp_url,
        f"helpdesk.bench-notify-{run_id}",
        f"bench-notify-{run_id}",
        free_port(),
    )
    await create_database(admin_url, database)
    acceptances = Acceptances()
    smtp = Controller(acceptances, hostname="127.0.0.1", port=target.smtp_port)
    try:
        await asyncio.to_thread(upgrade_all, target.url)
        smtp.start()
        results = await plain(target.smtp_port, acceptances, rate, seconds, count)
        results += await measure(target, acceptances, rate, seconds, count)
    finally:
        smtp.stop()
        await _remove_topology(amqp_url, target.exchange, target.prefix)
        await drop_database(admin_url, database)
    return results


async def plain(
    port: int, acceptances: Acceptances, rate: int, seconds: float, count: int
) -> list[Result]:
    """The baseline rows: the same server fed by aiosmtplib alone (`bench.notify_baseline`)."""
    async with PlainSender(port) as sender:
        steady_ids, steady_seconds = await sender.steady(rate, seconds)
        burst_ids, burst_seconds = await sender.burst(count)
    await wait_for(acceptances, len(steady_ids) + len(burst_ids), within=60)

    def result(name: str, ids: set[uuid.UUID], took: float) -> Result:
        lags = [(acceptances.at[i] - sender.sent_at[i]) * 1000 for i in ids]
        return Result(name, len(ids), took, lags)

    rows = [
        result(f"baseline: aiosmtplib alone, {rate} mails/s", steady_ids, steady_seconds),
        result(f"baseline: aiosmtplib alone, burst of {count}", burst_ids, burst_seconds),
    ]
    acceptances.clear()
    return rows


def pipeline(engine: AsyncEngine, target: Target) -> tuple[Consumer, Relay, SmtpSender]:
    """Notify's consumer and handler as the service wires them, and the relay feeding them."""
    sender = SmtpSender(host="127.0.0.1", port=target.smtp_port, sender="helpdesk@helpdesk.local")
    handler = NotifyHandler(units=PostgresNotifyUnits(engine), sender=sender, routing=Routing())
    consumer = Consumer(
        name=CONSUMER,
        engine=engine,
        amqp_url=target.amqp_url,
        exchange=target.exchange,
        queue_prefix=target.prefix,
        handler=handler,
        batch_handler=handler.handle_batch,
        bindings=("ticket.#",),
        prefetch=8,  # as the service: two connections per message in flight
        batch_size=NotifySettings().notify_consumer_batch_size,  # as the service
    )
    relay = Relay(
        engine=engine,
        amqp_url=target.amqp_url,
        exchange=target.exchange,
        queue_prefix=target.prefix,
        consumers=(ConsumerQueue(CONSUMER, ("ticket.#",)),),
    )
    return consumer, relay, sender


async def measure(
    target: Target, acceptances: Acceptances, rate: int, seconds: float, count: int
) -> list[Result]:
    """Run the relay and notify's consumer while tickets open: steady, then in a burst."""
    engine = create_engine(target.url, pool_size=10, application_name="bench-notify")
    consumer, relay, sender = pipeline(engine, target)
    relay_task = asyncio.create_task(relay.run())
    try:
        await consumer.start()
        store = EventStore(engine)
        steady_seconds = await steady(store, acceptances, rate, seconds)
        steady_tickets = set(acceptances.at)
        burst_seconds = await burst(store, acceptances, count, len(steady_tickets))
        burst_tickets = set(acceptances.at) - steady_tickets
        recorded = await recorded_at(engine)
    finally:
        await consumer.stop()
        await relay.stop()
        await asyncio.wait_for(relay_task, 30)
        await sender.close()
        await engine.dispose()
    return [
        Result(
            f"steady, {rate} tickets/s",
            len(steady_tickets),
            steady_seconds,
            latencies(recorded, acceptances, steady_tickets),
        ),
        Result(
            f"burst of {count}",
            len(burst_tickets),
            burst_seconds,
            latencies(recorded, acceptances, burst_tickets),
        ),
    ]


async def _remove_topology(amqp_url: str, exchange: str, prefix: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix, consumers=[CONSUMER])
        await channel.exchange_delete(exchange)
        await channel.exchange_delete(f"{exchange}.dlx")
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    settings = CommonSettings()
    parser = argparse.ArgumentParser(prog="python -m bench.notify_delivery", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds (smoke run)")
    parser.add_argument("--rate", type=int, default=50, help="tickets opened per second")
    parser.add_argument("--count", type=int, help="mails in the burst (default 2000, quick 100)")
    parser.add_argument("--seconds", type=float, help="seconds of steady rate (20, quick 2)")
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument("--amqp-url", default=settings.amqp_url)
    args = parser.parse_args(argv)
    seconds, count = (2.0, 100) if args.quick else (20.0, 2000)
    seconds, count = args.seconds or seconds, args.count or count
    print(asyncio.run(run(args.database_url, args.amqp_url, args.rate, seconds, count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
