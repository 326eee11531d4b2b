"""One trace from intake's HTTP request to notify's SMTP send, through the real servers.

Intake's app takes `POST /v1/requests` (its handler appends `TicketOpened` to PostgreSQL), the
shared relay publishes it to RabbitMQ, notify's consumer handles it and sends the opening mail to
a real SMTP server (aiosmtpd). Every part runs in this process, so one in-memory exporter sees all
the spans: they must share the request's trace, each the child of the one before, which holds only
if the trace context crossed the store (event metadata) and the broker (CloudEvents extension).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from typing import Any

import aio_pika
import httpx
import pytest
from aiosmtpd.controller import Controller
from deploy.local.parts import free_port
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app as build_intake
from helpdesk_intake.settings import Settings as IntakeSettings
from helpdesk_notify.bootstrap import build_app as build_notify
from helpdesk_notify.entrypoints.consumer import QUEUE
from helpdesk_notify.settings import Settings as NotifySettings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import eventually
from helpdesk_testkit.tracing import ReadableSpan, RecordedSpans

SECRET = "traces-e2e-test-secret-0123456789abcdef"


class Inbox:
    """The recipients of what the SMTP server accepted."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.recipients.extend(envelope.rcpt_tos)
        assert parsed["Subject"]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=6, application_name="traces-e2e")
    await load(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def names(amqp_url: str, exchange_name: str, queue_prefix: str) -> AsyncIterator[list[str]]:
    suffix = uuid.uuid4().hex[:8]
    names = [f"{exchange_name}.traces-{suffix}", f"{queue_prefix}.traces-{suffix}"]
    yield names
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_topology(channel, exchange=names[0], queue_prefix=names[1], consumers=[QUEUE])
        await channel.exchange_delete(names[0])
        await channel.exchange_delete(f"{names[0]}.dlx")


@asynccontextmanager
async def serving(app: FastAPI, name: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, once `/readyz` answers."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, what=f"{name} ready")
            yield client


async def test_one_trace_from_the_intake_request_to_the_smtp_send(
    recorded_spans: RecordedSpans,
    engine: AsyncEngine,
    fresh_database_url: str,
    amqp_url: str,
    names: list[str],
    smtp: tuple[Inbox, int],
) -> None:
    exchange, prefix = names
    inbox, smtp_port = smtp
    intake_settings = IntakeSettings(
        database_url=fresh_database_url, helpdesk_jwt_secret=SECRET,
        intake_ticket_url=f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    notify_settings = NotifySettings(
        database_url="unused://", amqp_url=amqp_url, helpdesk_exchange=exchange,
        helpdesk_queue_prefix=prefix, helpdesk_jwt_secret=SECRET, smtp_port=smtp_port,
        smtp_timeout=5,
    )  # fmt: skip
    relay = Relay(
        engine=engine, amqp_url=amqp_url, exchange=exchange, queue_prefix=prefix,
        consumers=(QUEUE,),
    )  # fmt: skip
    token = issue_token(intake_settings, "agent.dupont", ["agent"])
    form = {
        "channel": "phone",
        "subject": "Serveur de fichiers inaccessible",
        "description": "Le lecteur réseau S: ne s'ouvre plus.",
        "requester": {"login": "demo.alpha"},
        "category": "servers",
    }
    async with (
        serving(build_notify(notify_settings, engine=engine), "notify"),
        serving(build_intake(intake_settings, engine=engine), "intake") as intake,
    ):
        opened = await intake.post(
            "/v1/requests", json=form, headers={"Authorization": f"Bearer {token}"}
        )
        assert opened.status_code == 201, opened.text
        stream = f"ticket-{opened.json()['ticket_id']}"
        (stored,) = await EventStore(engine).read_stream(stream)

        async def relayed() -> bool:
            """Published up to the ticket's event (the log shows an event once every older
            transaction of the cluster ended: other tests' may hold it back a moment)."""
            await relay.publish_pending()
            return await relay.checkpoint() >= stored.log_position

        try:
            await eventually(relayed, within=60, what="TicketOpened published")
        finally:
            await relay._disconnect_broker()  # no public close for a relay that only caught up
        await eventually(lambda: len(inbox.recipients) == 1, within=60, what="the opening mail")
        await eventually(lambda: bool(recorded_spans.named("smtp.send")), what="smtp.send ended")
        await eventually(lambda: bool(recorded_spans.named("consume notify")), what="consumer")

    assert stored.metadata.correlation_id == opened.headers["x-correlation-id"]
    request = recorded_spans.one("POST /v1/requests")
    (append,) = of_stream(recorded_spans.named("eventstore.append"), stored.stream_id)
    (publish,) = of_event(recorded_spans.named("relay.publish"), str(stored.event_id))
    consume = recorded_spans.one("consume notify")
    send = recorded_spans.one("smtp.send")
    chain = [request, append, publish, consume, send]
    assert request.context is not None
    trace_id = request.context.trace_id
    assert [s.context.trace_id if s.context else None for s in chain] == [trace_id] * len(chain)
    for parent, child in itertools.pairwise(chain):
        assert child.parent is not None, f"{child.name} has no parent"
        assert parent.context is not None
        assert child.parent.span_id == parent.context.span_id, f"{child.name} <- {parent.name}"


def of_stream(spans: list[ReadableSpan], stream_id: str) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("eventstore.stream_id") == stream_id]


def of_event(spans: list[ReadableSpan], event_id: str) -> list[ReadableSpan]:
    return [s for s in spans if (s.attributes or {}).get("messaging.message.id") == event_id]
