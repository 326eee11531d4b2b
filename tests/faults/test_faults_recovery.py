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

import pytest
from fault_harness import FaultRun
from fault_servers import PrivatePostgres, PrivateRabbitMQ
from fault_traffic import Figures, with_traffic

pytestmark = pytest.mark.slow


#: Mails notify may hand over twice when something cuts it between the SMTP server's acceptance
#: and the commit marking them sent: the fault itself, or an SMTP reply slower than the client's
#: timeout on a loaded machine (seen once in a RabbitMQ-restart run at load 12). At most the
#: messages it handles at once (its prefetch); such a mail is re-sent with the same `Message-ID`,
#: so mail clients show it once (services/notify/README.md, docs/reliability.md).
IN_FLIGHT_MAILS = 8


def assert_nothing_lost_or_doubled(figures: Figures, resend_window: int = IN_FLIGHT_MAILS) -> None:
    assert figures.requests_accepted > 0, figures
    assert figures.events_stored > 0, figures
    assert figures.lost == 0, figures
    assert figures.mails_duplicated <= resend_window, figures
    assert figures.kpis_equal_rebuild, figures


async def test_rabbitmq_stopped_then_started_again(
    fault_run: FaultRun, private_rabbitmq: PrivateRabbitMQ
) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()

    async def broker_outage() -> None:
        await asyncio.to_thread(private_rabbitmq.stop)
        await asyncio.sleep(3)
        await asyncio.to_thread(private_rabbitmq.start)

    await with_traffic(traffic, broker_outage)
    assert_nothing_lost_or_doubled(await fault_run.verify("rabbitmq-restart", traffic))


async def test_postgresql_restarted(fault_run: FaultRun, private_postgres: PrivatePostgres) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    await with_traffic(traffic, lambda: asyncio.to_thread(private_postgres.restart))
    figures = await fault_run.verify("postgresql-restart", traffic)
    assert_nothing_lost_or_doubled(figures, resend_window=IN_FLIGHT_MAILS)


async def test_relay_killed_between_storing_and_publishing(fault_run: FaultRun) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()

    waiting: list[int] = []

    async def kill_relay_twice() -> None:
        for _ in range(2):
            await fault_run.kill("relay")
            await asyncio.sleep(2)  # events keep being stored, none published
            waiting.append(await fault_run.unpublished())
            await fault_run.start("relay")
            await asyncio.sleep(1)

    await with_traffic(traffic, kill_relay_twice)
    print(f"RELAY-BACKLOG stored but unpublished when the relay came back: {waiting}")
    assert all(count > 0 for count in waiting), waiting  # the kill did fall in between
    assert_nothing_lost_or_doubled(await fault_run.verify("relay-sigkill", traffic))


async def test_consumers_killed_mid_message(
    fault_run: FaultRun, private_rabbitmq: PrivateRabbitMQ
) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()
    in_hand: dict[str, int] = {}

    async def kill_consumers() -> None:
        for name in ("notify", "metrics"):
            queue = f"{fault_run.env['HELPDESK_QUEUE_PREFIX']}.{name}"
            for _ in range(5):  # kill it while it holds delivered, unacknowledged messages
                in_hand[name] = await asyncio.to_thread(private_rabbitmq.unacknowledged, queue)
                if in_hand[name]:
                    break
            await fault_run.kill(name)
            await asyncio.sleep(1.5)
            await fault_run.start(name)
            await asyncio.sleep(1)

    await with_traffic(traffic, kill_consumers)
    print(f"CONSUMER-IN-HAND unacknowledged messages just before each kill: {in_hand}")
    figures = await fault_run.verify("consumer-sigkill", traffic)
    assert_nothing_lost_or_doubled(figures, resend_window=IN_FLIGHT_MAILS)


async def test_smtp_refusing_mail_for_a_while(fault_run: FaultRun) -> None:
    await fault_run.mark_baseline()
    traffic = fault_run.traffic()

    async def smtp_refuses() -> None:
        fault_run.mailbox.refusing = True
        await asyncio.sleep(10)
        fault_run.mailbox.refusing = False

    await with_traffic(traffic, smtp_refuses)
    figures = await fault_run.verify("smtp-refusing", traffic, replay_dead_letters=True)
    assert fault_run.mailbox.refused > 0
    assert_nothing_lost_or_doubled(figures)
