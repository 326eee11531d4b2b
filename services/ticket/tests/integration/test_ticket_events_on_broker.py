"""Ticket commands over HTTP reach the topic exchange through the shared relay (real broker)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import httpx
import pytest

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import drain, eventually
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings
from helpdesk_ticket.testing import opened


@pytest.fixture
async def broker_queue(
    amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[tuple[str, str, aio_pika.abc.AbstractQueue]]:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.ticket-{suffix}", f"{queue_prefix}.ticket-{suffix}"
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await queue.bind(topic, "ticket.#")
    try:
        yield exchange, prefix, queue
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix)
        await connection.close()


async def test_lifecycle_events_reach_the_exchange_in_order(
    fresh_database_url: str,
    amqp_url: str,
    broker_queue: tuple[str, str, aio_pika.abc.AbstractQueue],
) -> None:
    exchange, prefix, queue = broker_queue
    settings = Settings(
        database_url=fresh_database_url,
        amqp_url=amqp_url,
        helpdesk_jwt_secret="ticket-tests-secret-0123456789-abcdef",
        ticket_background_tasks=False,
    )
    engine = create_engine(fresh_database_url, pool_size=2)
    try:
        event = opened(at=datetime.now(UTC))
        await EventStore(engine).append(
            f"ticket-{event.ticket_id}", ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)]
        )
        app = build_app(settings, engine=engine)
        token = issue_token(settings, "max", ["manager"])
        headers = {"Authorization": f"Bearer {token}"}
        base = f"/v1/tickets/{event.ticket_id}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
            assert (await http.get("/readyz")).status_code == 200
            steps = [
                ("take", None),
                ("escalate", {"reason": "N2"}),
                ("route", {"to_group": "servers", "reason": "serveur"}),
                ("resolve", {"solution": "redémarré", "resolution_code": "fix"}),
                ("close", None),
            ]
            for name, body in steps:
                answer = await http.post(f"{base}/{name}", headers=headers, json=body)
                assert answer.status_code == 200, answer.text

        relay = Relay(
            engine=engine,
            amqp_url=amqp_url,
            exchange=exchange,
            queue_prefix=prefix,
            source="helpdesk-ticket",
            retry_seconds=0.05,
        )
        published = 0

        async def all_published() -> bool:
            nonlocal published
            published += await relay.publish_pending()
            return published >= 7

        try:
            await eventually(all_published, within=30, what="7 events published")
        finally:
            await relay.stop()
        messages = await drain(queue, expect=7)
        assert [m.routing_key for m in messages] == [
            "ticket.opened",
            "ticket.taken",
            "ticket.escalated",
            "ticket.routed",
            "ticket.taken",
            "ticket.resolved",
            "ticket.closed",
        ]
    finally:
        await engine.dispose()
