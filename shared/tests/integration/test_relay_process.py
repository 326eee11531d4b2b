"""`python -m helpdesk_shared.relay` (the `helpdesk-relay` script) runs from the environment."""

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime

import aio_pika

from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import Escalated
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import parse_envelope
from helpdesk_shared.messaging.topology import delete_topology, queue_name
from helpdesk_testkit.broker import drain


async def test_the_relay_process_publishes_and_stops_on_sigterm(
    fresh_database_url: str,
    amqp_url: str,
    exchange_name: str,
    queue_prefix: str,
    service_env: dict[str, str],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.{suffix}", f"{queue_prefix}.{suffix}"
    env = {
        **os.environ,
        **service_env,
        "DATABASE_URL": fresh_database_url,
        "HELPDESK_EXCHANGE": exchange,
        "HELPDESK_QUEUE_PREFIX": prefix,
        "RELAY_SOURCE": "relay-process-test",
        # The queue it must declare before publishing: it holds the event, nobody consumed it.
        "RELAY_CONSUMERS": '{"declared": ["ticket.#"]}',
    }
    engine = create_engine(fresh_database_url, pool_size=2)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    subscriber = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await subscriber.bind(topic, "ticket.#")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "helpdesk_shared.relay", env=env
    )
    try:
        ticket = uuid.uuid4()
        escalated = Escalated(
            ticket_id=ticket,
            occurred_at=datetime.now(UTC),
            from_level=1,
            to_level=2,
            group="n2-postes",
            reason="Poste de travail bloqué",
            by="agent-7",
        )
        stored = await EventStore(engine).append(
            f"ticket-{ticket}", ExpectedVersion.NO_STREAM, [NewEvent.from_domain(escalated)]
        )

        [message] = await drain(subscriber, expect=1)

        received = parse_envelope(message.body, message.content_type)
        assert received.global_position == stored.global_positions[0]
        assert received.source == "relay-process-test"
        declared = await channel.get_queue(queue_name(prefix, "declared"))
        assert declared.declaration_result.message_count == 1
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await subscriber.delete(if_unused=False, if_empty=False)
        await delete_topology(
            channel, exchange=exchange, queue_prefix=prefix, consumers=["declared"]
        )
        await connection.close()
        await engine.dispose()
