"""Fixtures of the ticket service's HTTP tests: the app on this run's database, tokens, tickets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.auth import issue_token
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings
from helpdesk_ticket.testing import opened

Opener = Callable[..., Awaitable[uuid.UUID]]
Auth = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def ticket_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        helpdesk_jwt_secret="ticket-tests-secret-0123456789-abcdef",
        ticket_background_tasks=False,
    )


@pytest.fixture
async def client(
    ticket_settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(ticket_settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
        yield http


@pytest.fixture
def auth(ticket_settings: Settings) -> Auth:
    def headers(
        sub: str, *roles: str, level: int | None = None, groups: list[str] | None = None
    ) -> dict[str, str]:
        token = issue_token(ticket_settings, sub, list(roles), level=level, groups=groups)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def open_ticket(event_store: EventStore) -> Opener:
    """Append a `TicketOpened` as intake does; returns the ticket id."""

    async def append(
        requester: str = "alice",
        group: str = "desk",
        level: int = 1,
        organisation_kind: str | None = None,
    ) -> uuid.UUID:
        from datetime import UTC, datetime

        event = opened(
            at=datetime.now(UTC),
            requester=requester,
            group=group,
            level=level,
            organisation_kind=organisation_kind,
        )
        await event_store.append(
            f"ticket-{event.ticket_id}",
            ExpectedVersion.NO_STREAM,
            [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
        )
        return event.ticket_id

    return append


@pytest.fixture
def caught_up(client: httpx.AsyncClient, engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    """Project every stored event into the list (the app runs no background task here). The
    log shows events only once older than every running transaction, so this retries."""
    app = client._transport.app  # type: ignore[attr-defined]
    assert isinstance(app, FastAPI)
    behind = text(
        """SELECT count(*) FROM (SELECT stream_id, max(version) AS version
            FROM eventstore.events WHERE stream_id LIKE 'ticket-%' GROUP BY stream_id) e
        LEFT JOIN ticket.tickets t ON e.stream_id = 'ticket-' || t.ticket_id
        WHERE t.version IS DISTINCT FROM e.version"""
    )

    async def catch_up() -> None:
        for _ in range(500):
            await app.state.components.projection.catch_up()
            async with engine.connect() as conn:
                if (await conn.execute(behind)).scalar() == 0:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the projection did not catch up")

    return catch_up
