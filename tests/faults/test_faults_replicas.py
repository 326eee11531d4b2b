"""Faults on replicas (`make up REPLICAS=2`): nothing lost, nothing applied twice, order kept.

Two replicas of every service behind one address each (deploy/local/proxy.py) and two relays, on
the private servers, under the same traffic and checks as test_faults_recovery.py; and, for each
consumer, every ticket's events handled in version order (fault_replicas.py), which the single
active consumer on each queue keeps across replicas.
"""

from __future__ import annotations

import asyncio

import pytest
from fault_harness import FaultRun
from fault_replicas import active_consumer, active_relay, handled_out_of_order
from fault_servers import PrivateRabbitMQ
from fault_traffic import (
    NO_MAIL_TWICE,
    SEND_WINDOW,
    assert_nothing_lost_or_doubled,
    precondition,
    with_traffic,
)

pytestmark = pytest.mark.slow


async def assert_in_order(run: FaultRun) -> None:
    late = await handled_out_of_order(run, await run.stored_events())
    print(f"HANDLED-OUT-OF-ORDER per consumer: {late}")
    assert set(late) >= {"notify", "metrics"}, late
    assert sum(late.values()) == 0, late


async def test_one_replica_of_each_service_killed_and_restarted(
    replica_run: FaultRun, private_rabbitmq: PrivateRabbitMQ
) -> None:
    """The API replicas' peers serve on; the active consumer's standby takes over its queue."""
    await replica_run.mark_baseline()
    traffic = replica_run.traffic()
    killed: dict[str, str] = {}

    async def kill_one_of_each() -> None:
        for service in ("notify", "metrics"):
            active = await active_consumer(replica_run, service)
            queue = f"{replica_run.env['HELPDESK_QUEUE_PREFIX']}.{service}"

            async def holds_messages(queue: str = queue) -> bool:
                return await asyncio.to_thread(private_rabbitmq.unacknowledged, queue) > 0

            await precondition(holds_messages, f"{active} holding messages", pause=0.05)
            await replica_run.kill(active)
            killed[service] = active
        for service in ("intake", "ticket"):
            killed[service] = f"{service}-1"
            await replica_run.kill(killed[service])
        await asyncio.sleep(2)  # the peers alone serve and consume
        for service in ("notify", "metrics"):
            survivor = await active_consumer(replica_run, service)
            assert survivor != killed[service], f"{service}: no replica took over"
        await asyncio.gather(*(replica_run.start(name) for name in killed.values()))

    await with_traffic(traffic, kill_one_of_each)
    print(f"REPLICAS-KILLED {killed}")
    figures = await replica_run.verify("replica-sigkill", traffic)
    assert_nothing_lost_or_doubled(figures, SEND_WINDOW)
    await assert_in_order(replica_run)


async def test_the_active_relay_killed_while_the_other_takes_over(replica_run: FaultRun) -> None:
    await replica_run.mark_baseline()
    traffic = replica_run.traffic()
    roles: list[str] = []

    async def kill_the_active_relay() -> None:
        active = await active_relay(replica_run)
        await replica_run.kill(active)
        standby = await active_relay(replica_run, within=60)  # it takes the advisory lock
        assert standby != active
        roles.extend([active, standby])
        await asyncio.sleep(2)
        await replica_run.start(active)  # back as the standby

    await with_traffic(traffic, kill_the_active_relay)
    print(f"RELAY-TAKEOVER killed {roles[0]}, {roles[1]} took over")
    assert await active_relay(replica_run) == roles[1]
    figures = await replica_run.verify("active-relay-sigkill", traffic)
    assert_nothing_lost_or_doubled(figures, NO_MAIL_TWICE)
    await assert_in_order(replica_run)
