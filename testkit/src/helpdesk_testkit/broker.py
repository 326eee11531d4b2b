"""Helpers for tests of anything that publishes or consumes events (real broker, no mocks).

Used by the shared relay and consumer tests; the services' consumer tests may use them too.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent
from helpdesk_shared.messaging.envelope import to_cloudevent_message


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 15.0,
    interval: float = 0.02,
    what: str = "condition",
) -> None:
    """Wait until `check()` is true; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def drain(queue: AbstractQueue, *, expect: int, within: float = 60.0) -> list[Any]:
    """Take (and ack) messages until `expect` arrived, then whatever else is already there."""
    taken: list[AbstractIncomingMessage] = []

    async def more() -> bool:
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
        return len(taken) >= expect

    await eventually(more, within=within, what=f"{expect} messages on {queue.name}")
    return taken


def synthetic_event(
    event_type: str = "Escalated",
    data: dict[str, Any] | None = None,
    *,
    stream_id: str | None = None,
    version: int = 1,
    global_position: int = 1,
) -> RecordedEvent:
    """A stored-looking event for consumer tests that publish straight to the exchange."""
    ticket = uuid.uuid4()
    now = datetime.now(UTC)
    body = data or {
        "ticket_id": str(ticket),
        "occurred_at": now.isoformat(),
        "from_level": 1,
        "to_level": 2,
        "group": "n2-systemes",
        "reason": "test",
        "by": "agent-test",
    }
    return RecordedEvent(
        global_position=global_position,
        tx_id=1,
        stream_id=stream_id or f"ticket-{ticket}",
        version=version,
        event_id=uuid.uuid4(),
        type=event_type,
        schema_version=1,
        data=body,
        metadata=EventMetadata(correlation_id="test", actor="agent-test"),
        recorded_at=now,
    )


async def publish_events(
    amqp_url: str, exchange: str, events: Sequence[RecordedEvent], routing_key: str
) -> None:
    """Publish events as the relay would (confirmed), to an already declared exchange."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange)
        for event in events:
            await target.publish(to_cloudevent_message(event, "test"), routing_key, timeout=10)
    finally:
        await connection.close()


def close_broker_connections(name_contains: str) -> int:
    """Close, from the server side, the connections whose `connection_name` contains the text.

    Simulates a broker-side drop of one client without touching anybody else's connections.
    Needs `rabbitmqctl` (the local broker); returns how many connections were closed.
    """
    rabbitmqctl = shutil.which("rabbitmqctl")
    if rabbitmqctl is None:
        raise RuntimeError("rabbitmqctl is needed to close a connection from the broker side")
    listing = subprocess.run(  # noqa: S603 - fixed arguments
        [rabbitmqctl, "list_connections", "pid", "client_properties", "-q", "--no-table-headers"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    closed = 0
    for line in listing.splitlines():
        pid, _, properties = line.partition("\t")
        match = re.search(r'\{"connection_name","([^"]*)"\}', properties)
        if match and name_contains in match.group(1):
            subprocess.run(  # noqa: S603 - the pid comes from rabbitmqctl itself
                [rabbitmqctl, "close_connection", pid, "closed by a test"],
                capture_output=True,
                check=False,
                timeout=30,
            )
            closed += 1
    return closed
