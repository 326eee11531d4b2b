"""An opened request reaches the topic exchange as a `TicketOpened`
CloudEvent carrying the form and the pre-qualification (through the shared relay)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import httpx
import pytest

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.intake import CallRecorded
from helpdesk_shared.events.ticket import TicketOpened
from helpdesk_shared.messaging.envelope import parse_envelope
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import eventually


@pytest.fixture
async def wired(
    fresh_database_url: str, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:8]
    exchange, prefix = f"{exchange_name}.intake.{suffix}", f"{queue_prefix}.intake.{suffix}"
    engine = create_engine(fresh_database_url, pool_size=4, application_name="intake-e2e")
    await load(engine)
    settings = Settings(database_url=fresh_database_url, amqp_url=amqp_url)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    topic = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    subscriber = await channel.declare_queue(f"{prefix}.subscriber", exclusive=True)
    await subscriber.bind(topic, "ticket.#")
    await subscriber.bind(topic, "call.#")
    relay = Relay(
        engine=engine, amqp_url=amqp_url, exchange=exchange, queue_prefix=prefix,
        source="helpdesk-intake-test",
    )  # fmt: skip
    transport = httpx.ASGITransport(app=build_app(settings, engine=engine))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            yield {"client": client, "relay": relay, "queue": subscriber, "settings": settings}
    finally:
        await subscriber.delete(if_unused=False, if_empty=False)
        await delete_topology(channel, exchange=exchange, queue_prefix=prefix)
        await connection.close()
        await engine.dispose()


async def test_opened_request_and_call_reach_the_exchange(wired: dict[str, Any]) -> None:
    client: httpx.AsyncClient = wired["client"]
    token = issue_token(wired["settings"], "agent.dupont", ["agent"])
    headers = {"Authorization": f"Bearer {token}"}
    form = {
        "channel": "phone",
        "subject": "Serveur de fichiers inaccessible",
        "description": "Le lecteur réseau S: ne s'ouvre plus.",
        "requester": {"login": "demo.alpha"},
        "category": "servers",
    }
    opened = await client.post("/v1/requests", json=form, headers=headers)
    assert opened.status_code == 201, opened.text
    call = {
        "call_id": "pbx-e2e-1",
        "offered_at": "2026-03-02T09:00:00+01:00",
        "abandoned_at": "2026-03-02T09:00:40+01:00",
    }
    assert (await client.post("/v1/calls", json=call, headers=headers)).status_code == 201

    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def both_published() -> bool:
        while (message := await wired["queue"].get(no_ack=True, fail=False)) is not None:
            received.append(message)
        return len(received) >= 2

    relay: Relay = wired["relay"]
    task = asyncio.create_task(relay.run())
    try:
        await eventually(both_published, within=60, what="TicketOpened and CallRecorded published")
    finally:
        await relay.stop()
        await asyncio.wait_for(task, 15)
    by_key = {m.routing_key: parse_envelope(m.body, m.content_type) for m in received}
    ticket = by_key["ticket.opened"].to_domain()
    assert isinstance(ticket, TicketOpened)
    assert str(ticket.ticket_id) == opened.json()["ticket_id"]
    assert ticket.subject == form["subject"]
    assert ticket.pre_qualification.outcome.value == "to_route"
    assert ticket.pre_qualification.routed_domain == "servers"
    assert by_key["ticket.opened"].metadata.get("actor") == "agent.dupont"
    call_event = by_key["call.recorded"].to_domain()
    assert isinstance(call_event, CallRecorded)
    assert (call_event.outcome.value, call_event.wait_seconds) == ("abandoned", 40)
