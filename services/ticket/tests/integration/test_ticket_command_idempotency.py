"""`Idempotency-Key` on ticket commands: a command retried after its answer was lost, or after a
503 (the database cut the connection: nothing was recorded), is applied once and answered as the
first time. On the real PostgreSQL; the outage cuts only this test's own connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings
from helpdesk_ticket.testing import opened

from .conftest import Auth


@pytest.fixture
async def own_database(fresh_database_url: str) -> AsyncIterator[tuple[str, AsyncEngine]]:
    engine = create_engine(fresh_database_url, pool_size=2, timeouts=DatabaseTimeouts(pool=5))
    try:
        yield fresh_database_url, engine
    finally:
        await engine.dispose()


async def _open(store: EventStore) -> uuid.UUID:
    event = opened(at=datetime.now(UTC), requester="alice", group="desk", level=1)
    await store.append(
        f"ticket-{event.ticket_id}",
        ExpectedVersion.NO_STREAM,
        [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
    )
    return event.ticket_id


async def _taken(store: EventStore, ticket_id: uuid.UUID) -> int:
    events = await store.read_stream(f"ticket-{ticket_id}")
    return sum(1 for e in events if e.type == "TicketTaken")


def _settings(database_url: str, secret: str) -> Settings:
    return Settings(
        database_url=database_url,
        helpdesk_jwt_secret=secret,
        ticket_background_tasks=False,
        helpdesk_retry_after_seconds=3,
    )


async def test_a_command_retried_with_its_key_is_applied_once_with_the_first_answer(
    client: httpx.AsyncClient, auth: Auth, event_store: EventStore
) -> None:
    ticket_id = await _open(event_store)
    agent = auth("agent.idem", "agent", level=1, groups=["desk"])
    keyed = {**agent, "Idempotency-Key": f"take-{uuid.uuid4()}"}
    url = f"/v1/tickets/{ticket_id}/take"

    first = await client.post(url, headers=keyed)
    again = await client.post(url, headers=keyed)
    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert await _taken(event_store, ticket_id) == 1
    assert (await client.post(url, headers=agent)).status_code == 409  # without it: refused

    comment = {"text": "Autre commande", "visibility": "internal"}
    other = await client.post(f"/v1/tickets/{ticket_id}/comment", headers=keyed, json=comment)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:helpdesk:problem:idempotency-key-reused"


async def test_a_command_retried_after_a_database_outage_is_applied_once(
    own_database: tuple[str, AsyncEngine], ticket_settings: Settings, auth: Auth
) -> None:
    database_url, admin = own_database
    store = EventStore(admin)
    ticket_id = await _open(store)
    settings = _settings(database_url, ticket_settings.helpdesk_jwt_secret)
    app_engine = create_engine(database_url, pool_size=1, application_name="idem-outage")
    app = build_app(settings, engine=app_engine)
    keyed = {
        **auth("agent.idem", "agent", level=1, groups=["desk"]),
        "Idempotency-Key": f"take-{uuid.uuid4()}",
    }
    url = f"/v1/tickets/{ticket_id}/take"
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as client:
            async with admin.connect() as blocker:
                await blocker.execute(text("LOCK TABLE eventstore.events IN EXCLUSIVE MODE"))
                attempt = asyncio.create_task(client.post(url, headers=keyed))
                await _cut_when_waiting(admin, "idem-outage")
                failed = await attempt
                await blocker.rollback()
            assert failed.status_code == 503, failed.text
            assert failed.headers["Retry-After"] == "3"
            assert failed.json()["dependency"] == "database"
            assert await _taken(store, ticket_id) == 0  # nothing was recorded

            retried = await client.post(url, headers=keyed)
            replayed = await client.post(url, headers=keyed)
        assert retried.status_code == 200, retried.text
        assert replayed.json() == retried.json()
        assert await _taken(store, ticket_id) == 1
    finally:
        await app_engine.dispose()


async def _cut_when_waiting(admin: AsyncEngine, application: str) -> None:
    """Terminate the app's connections once its statement waits (what a restart does to it)."""
    for _ in range(200):
        async with admin.connect() as conn:
            cut = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :app AND wait_event_type = 'Lock'"
                ),
                {"app": application},
            )
        if cut:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the command never waited on the database")
