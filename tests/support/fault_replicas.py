"""What a fault test on replicas needs to know: which replica consumes, which relay publishes, and
whether every consumer handled each stream's events in order.

A consumer queue has a single active consumer (helpdesk_shared/messaging/topology.py), so one
replica of notify (of metrics) handles the events while the other waits; one relay holds the
advisory lock. Killing the active one is the fault that matters: the other must take over.
"""

from __future__ import annotations

import asyncio
import itertools
import re

from deploy.local.stack import metrics_text
from fault_harness import FaultRun
from fault_traffic import eventually
from sqlalchemy import text

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import RecordedEvent

_HANDLED = re.compile(r'^helpdesk_consumer_handled_events_total\{consumer="([^"]+)"\} (\S+)$', re.M)
_ACTIVE = re.compile(r"^helpdesk_relay_active (\S+)$", re.M)


async def handled_by(url: str, consumer: str) -> float:
    """The events a replica's consumer handled so far (its `/metrics`)."""
    body = await asyncio.to_thread(metrics_text, f"{url}/metrics") or ""
    return sum(float(n) for name, n in _HANDLED.findall(body) if name == consumer)


async def active_consumer(run: FaultRun, service: str, within: float = 30) -> str:
    """The replica whose consumer is handling events now (its count grows while traffic flows)."""
    replicas = run.stack.replicas[service]
    found: list[str] = []

    async def one_grows() -> bool:
        before = {name: await handled_by(url, service) for name, url in replicas.items()}
        await asyncio.sleep(1)
        after = {name: await handled_by(url, service) for name, url in replicas.items()}
        found[:] = [name for name in replicas if after[name] > before[name]]
        return len(found) == 1

    assert await eventually(one_grows, within), f"no single active {service} consumer: {found}"
    return found[0]


async def active_relay(run: FaultRun, within: float = 30) -> str:
    """The relay holding the advisory lock (`helpdesk_relay_active 1`)."""
    found: list[str] = []

    async def one_active() -> bool:
        found.clear()
        for name, url in run.stack.relay_metrics_urls.items():
            body = await asyncio.to_thread(metrics_text, url) or ""
            if any(float(value) == 1 for value in _ACTIVE.findall(body)):
                found.append(name)
        return len(found) == 1

    assert await eventually(one_active, within, pause=0.3), f"not one active relay: {found}"
    return found[0]


async def handled_out_of_order(run: FaultRun, stored: list[RecordedEvent]) -> dict[str, int]:
    """Per consumer, the events handled before an earlier event of their stream.

    `infra.inbox.processed_at` is the start of the transaction that handled the event: a stream's
    events handled one after the other have increasing times in version order.
    """
    position = {str(e.event_id): (e.stream_id, e.version) for e in stored}
    engine = create_engine(run.database_url, pool_size=1, application_name="faults-check")
    query = text("SELECT consumer, event_id::text, processed_at FROM infra.inbox")
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    handled: dict[tuple[str, str], list[tuple[int, object]]] = {}
    for consumer, event_id, processed_at in rows:
        if event_id in position:
            stream, version = position[event_id]
            handled.setdefault((consumer, stream), []).append((version, processed_at))
    late: dict[str, int] = {}
    for (consumer, _), handlings in handled.items():
        times = [moment for _, moment in sorted(handlings, key=lambda h: h[0])]
        late[consumer] = late.get(consumer, 0) + sum(
            later < earlier  # type: ignore[operator]
            for earlier, later in itertools.pairwise(times)
        )
    return late
