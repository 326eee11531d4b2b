"""End to end through the real broker: the store, the relay, RabbitMQ, the app's consumer, SMTP.

Each test has its own database (so the relay publishes only its events), exchange and queues.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters import queries
from helpdesk_notify.bootstrap import build_app
from helpdesk_notify.entrypoints.consumer import QUEUE
from helpdesk_notify.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    Closed,
    ClosureCode,
    PreQualification,
    Reason,
    RequesterSnapshot,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.dead_letters import list_dead_letters
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import eventually, publish_events

SECRET = "notify-e2e-test-secret-0123456789abcdef"


@dataclass
class World:
    engine: AsyncEngine
    amqp_url: str
    exchange: str
    prefix: str

    def settings(self, smtp_port: int) -> Settings:
        return Settings(
            database_url="unused://",
            amqp_url=self.amqp_url,
            helpdesk_exchange=self.exchange,
            helpdesk_queue_prefix=self.prefix,
            helpdesk_jwt_secret=SECRET,
            smtp_port=smtp_port,
            smtp_timeout=5,
            notify_consumer_max_attempts=2,
            notify_consumer_backoff_seconds=0.05,
        )

    async def append(self, ticket_id: uuid.UUID, *events: Any) -> list[RecordedEvent]:
        store = EventStore(self.engine)
        stream = f"ticket-{ticket_id}"
        version = await store.stream_version(stream)
        expected = ExpectedVersion.NO_STREAM if version == 0 else version
        await store.append(stream, expected, [NewEvent.from_domain(e) for e in events])
        return await store.read_stream(stream)

    async def relay(self, expect: int) -> None:
        """Publish until `expect` events went out (the log shows an event only once every older
        transaction of the PostgreSQL cluster ended: other tests' may hold it back a moment)."""
        relay = Relay(
            engine=self.engine,
            amqp_url=self.amqp_url,
            exchange=self.exchange,
            queue_prefix=self.prefix,
            consumers=(QUEUE,),
        )
        published = 0

        async def caught_up() -> bool:
            nonlocal published
            published += await relay.publish_pending()
            return published >= expect

        try:
            await eventually(caught_up, within=60, what=f"{expect} events published")
        finally:
            await relay._disconnect_broker()  # no public close for a relay that only caught up


@pytest.fixture
async def world(
    fresh_database_url: str, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[World]:
    suffix = uuid.uuid4().hex[:8]
    engine = create_engine(fresh_database_url, pool_size=4)
    world = World(engine, amqp_url, f"{exchange_name}.notify-{suffix}", f"{queue_prefix}.{suffix}")
    try:
        yield world
    finally:
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        await delete_topology(
            channel, exchange=world.exchange, queue_prefix=world.prefix, consumers=[QUEUE]
        )
        await channel.exchange_delete(world.exchange)
        await channel.exchange_delete(f"{world.exchange}.dlx")
        await connection.close()
        await engine.dispose()


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (consumer started), once `/readyz` says the broker is there."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, what="notify ready")
            yield client


def ticket_events(ticket_id: uuid.UUID, address: str, *, out_of_scope: bool = False) -> list[Any]:
    now = datetime.now(UTC)
    outcome = Admissibility.OUT_OF_SCOPE if out_of_scope else Admissibility.ADMISSIBLE
    reasons = (Reason(rule="no_contract", message="Aucun contrat ne couvre ce service."),)
    opened = TicketOpened(
        ticket_id=ticket_id,
        occurred_at=now,
        reference="SR-2026-000777",
        type=TicketType.SERVICE_REQUEST,
        channel=Channel.WEB,
        requester=RequesterSnapshot(login="cmartin", name="Claire Martin", email=address),
        subject="Installation d'un logiciel",
        description="Installer un logiciel de cartographie.",
        pre_qualification=PreQualification(
            outcome=outcome, reasons=reasons if out_of_scope else ()
        ),
        received_at=now,
    )
    closed = Closed(
        ticket_id=ticket_id,
        occurred_at=now,
        code=ClosureCode.OUT_OF_SCOPE if out_of_scope else ClosureCode.RESOLVED,
        solution=None if out_of_scope else "Logiciel installé.",
        follow_up="Adressez-vous au service cartographie." if out_of_scope else None,
        by="agent1",
    )
    return [opened, closed]


async def test_opening_and_closure_mails_through_the_broker_and_no_resend_on_redelivery(
    world: World, smtp_server: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"claire.{ticket_id.hex[:8]}@ac-paris.fr"
    app = build_app(world.settings(smtp_server.port), engine=world.engine)
    async with running(app) as client:
        recorded = await world.append(
            ticket_id, *ticket_events(ticket_id, address, out_of_scope=True)
        )
        await world.relay(expect=2)
        await eventually(lambda: len(smtp_server.messages(to=address)) == 2, what="two mails")
        opening, closure = smtp_server.messages(to=address)
        assert opening["Subject"].startswith("[SR-2026-000777] Ouverture de votre ticket")
        assert "Aucun contrat ne couvre ce service." in opening.get_body(("plain",)).get_content()
        assert closure["In-Reply-To"] == opening["Message-ID"]
        assert (
            "Adressez-vous au service cartographie." in closure.get_body(("plain",)).get_content()
        )

        consumer = app.state.consumers[0]
        await publish_events(world.amqp_url, world.exchange, recorded, "ticket.opened")
        await eventually(lambda: consumer.duplicates >= 2, what="redeliveries skipped")
        assert len(smtp_server.messages(to=address)) == 2
        metrics = (await client.get("/metrics")).text
        assert 'helpdesk_notify_mails_total{outcome="sent"} 2.0' in metrics


async def test_smtp_down_dead_letters_then_replay_sends_what_failed(
    world: World, smtp_down: Any
) -> None:
    ticket_id = uuid.uuid4()
    address = f"remi.{ticket_id.hex[:8]}@ac-paris.fr"
    app = build_app(world.settings(smtp_down.port), engine=world.engine)
    async with running(app) as client:
        await world.append(ticket_id, ticket_events(ticket_id, address)[0])
        await world.relay(expect=1)

        async def parked() -> bool:
            letters = await list_dead_letters(world.amqp_url, world.prefix, QUEUE.name)
            return len(letters) == 1

        await eventually(parked, what="the message dead-lettered")
        async with world.engine.connect() as conn:
            (row,) = await queries.search(conn, ticket_id=ticket_id)
        # once in its batch, then alone on each of the consumer's 2 attempts before parking
        assert (row.status, row.attempts) == ("failed", 3)

        smtp_down.start()
        admin = {"Authorization": f"Bearer {issue_token(app.state.settings, 'ops', ['admin'])}"}
        replay = await client.post("/v1/dead-letters/replay", headers=admin)
        assert replay.json()["replayed"] == 1
        await eventually(lambda: len(smtp_down.messages(to=address)) == 1, what="the mail")

        async def sent() -> bool:
            async with world.engine.connect() as conn:
                rows = await queries.search(conn, ticket_id=ticket_id, status="sent")
            return len(rows) == 1

        await eventually(sent, what="the notification marked sent")
