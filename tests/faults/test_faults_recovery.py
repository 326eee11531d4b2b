"""Faults under a steady stream of requests: nothing lost, nothing applied twice.

Each scenario runs the relay and the four services as processes on private PostgreSQL and
RabbitMQ servers, drives tickets from opening to closure over HTTP, breaks one part while the
traffic flows, then checks (see tests/support/fault_harness.py) that every accepted request has
its events, every stored event was published, every expected mail arrived exactly once, and the
metrics equal a rebuild from the store. The figures are printed as `FAULT-FIGURES {...}` lines
(`pytest tests/faults -m slow -rP`) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from fault_harness import FaultRun
from fault_servers import PrivatePostgres, PrivateRabbitMQ, port_open
from fault_traffic import (
    NO_MAIL_TWICE,
    SEND_WINDOW,
    assert_nothing_lost_or_doubled,
    precondition,
    with_traffic,
)

pytestmark = pytest.mark.slow


async def test_rabbitmq_stopped_then_started_again(
    fault_run: FaultRun, private_rabbitmq: PrivateRabbitMQ
) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    backlog: list[int] = []

    async def broker_down() -> bool:
        return not await asyncio.to_thread(port_open, private_rabbitmq.port)

    async def events_wait_for_the_broker() -> bool:
        backlog.append(await fault_run.unpublished())
        return backlog[-1] > 0

    async def broker_outage() -> None:
        await asyncio.to_thread(private_rabbitmq.stop)
        await precondition(broker_down, "the private RabbitMQ stopped listening")
        await asyncio.sleep(3)
        await precondition(events_wait_for_the_broker, "events stored but unpublished")
        await asyncio.to_thread(private_rabbitmq.start)

    await with_traffic(traffic, broker_outage)
    print(f"BROKER-BACKLOG stored but unpublished while the broker was down: {backlog[-1]}")
    figures = await fault_run.verify("rabbitmq-restart", traffic)
    assert_nothing_lost_or_doubled(figures, SEND_WINDOW)


async def test_postgresql_restarted(fault_run: FaultRun, private_postgres: PrivatePostgres) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    before = private_postgres.postmaster_pid()

    async def restart() -> None:
        await asyncio.to_thread(private_postgres.restart)
        assert private_postgres.postmaster_pid() != before, "the server was not restarted"

    await with_traffic(traffic, restart)
    figures = await fault_run.verify("postgresql-restart", traffic)
    assert_nothing_lost_or_doubled(figures, SEND_WINDOW)
    # While the server restarts, a request is answered 2xx or a 503 saying when to retry.
    assert not traffic.unactionable, traffic.unactionable
    assert {s for s in figures.http_statuses if s[0] in "45"} <= {"503"}, figures.http_statuses


async def test_relay_killed_between_storing_and_publishing(fault_run: FaultRun) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    waiting: list[int] = []

    async def events_wait_for_the_relay() -> bool:
        waiting.append(await fault_run.unpublished())
        return waiting[-1] > 0

    async def kill_relay_twice() -> None:
        for _ in range(2):
            await fault_run.kill("relay")
            await asyncio.sleep(2)  # events keep being stored, none published
            await precondition(events_wait_for_the_relay, "events stored past the checkpoint")
            await fault_run.start("relay")
            await asyncio.sleep(1)

    await with_traffic(traffic, kill_relay_twice)
    print(f"RELAY-BACKLOG stored but unpublished when the relay came back: {waiting}")
    assert_nothing_lost_or_doubled(await fault_run.verify("relay-sigkill", traffic), NO_MAIL_TWICE)


async def test_consumers_killed_mid_message(
    fault_run: FaultRun, private_rabbitmq: PrivateRabbitMQ
) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    in_hand: dict[str, int] = {}

    async def kill_consumers() -> None:
        for name in ("notify", "metrics"):
            queue = f"{fault_run.env['HELPDESK_QUEUE_PREFIX']}.{name}"

            async def holds_messages(queue: str = queue, name: str = name) -> bool:
                in_hand[name] = await asyncio.to_thread(private_rabbitmq.unacknowledged, queue)
                return in_hand[name] > 0

            # Metrics folds a batch in milliseconds: its writes are held until the kill, so it
            # is caught with messages in hand (notify, waiting on SMTP, is caught as it runs).
            held = fault_run.writes_held("metrics.ticket_facts") if name == "metrics" else None
            async with held or contextlib.nullcontext():
                await precondition(
                    holds_messages, f"{name} holding delivered, unacknowledged messages", pause=0.05
                )
                await fault_run.kill(name)
            await asyncio.sleep(1.5)
            await fault_run.start(name)
            await asyncio.sleep(1)

    await with_traffic(traffic, kill_consumers)
    print(f"CONSUMER-IN-HAND unacknowledged messages just before each kill: {in_hand}")
    figures = await fault_run.verify("consumer-sigkill", traffic)
    assert_nothing_lost_or_doubled(figures, SEND_WINDOW)


async def test_smtp_refusing_mail_for_a_while(fault_run: FaultRun) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()

    async def mail_was_refused() -> bool:
        return fault_run.mailbox.refused > 0

    async def smtp_refuses() -> None:
        fault_run.mailbox.refusing = True
        await asyncio.sleep(10)
        await precondition(mail_was_refused, "a mail answered 451")
        fault_run.mailbox.refusing = False

    await with_traffic(traffic, smtp_refuses)
    figures = await fault_run.verify("smtp-refusing", traffic, replay_dead_letters=True)
    assert_nothing_lost_or_doubled(figures, NO_MAIL_TWICE)
