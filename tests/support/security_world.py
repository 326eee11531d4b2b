"""What the authorisation world holds besides its ticket, each made the way the services make it,
so that every refusal of the matrix refuses something someone else does see.

Kept apart from tests/security/conftest.py (the callers, the routes and the world itself).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_metrics.application.projection import replay
from helpdesk_metrics.bootstrap import projection_on
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.domain.notifications import Routing
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import ReceivedEvent

RESOLVED = {"solution": "Spouleur relancé", "resolution_code": "fixed"}


async def listed(app: Any, engine: AsyncEngine, ticket_id: str) -> None:
    """Catch the list up until it holds the ticket at its last version: the log shows events
    only once older than every running transaction of the cluster, so one catch-up may miss
    them (and the list tests would find nothing, for the owner too)."""
    last = (await EventStore(engine).read_stream(f"ticket-{ticket_id}"))[-1].version
    query = text("SELECT version FROM ticket.tickets WHERE ticket_id = :id")
    for _ in range(500):
        await app.state.components.projection.catch_up()
        async with engine.connect() as conn:
            if (await conn.execute(query, {"id": ticket_id})).scalar() == last:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the list did not catch up")


async def problem_of(client: httpx.AsyncClient, agent: dict[str, str], ticket_id: str) -> str:
    """The desk's agent makes a problem of the ticket: `/v1/problems` has something to refuse."""
    created = await client.post(
        "/v1/problems",
        json={"title": "Écrans noirs", "description": "Plusieurs postes", "incidents": [ticket_id]},
        headers=agent,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def drafted_article(
    clients: dict[str, httpx.AsyncClient], callers: dict[str, dict[str, str]], subject: str
) -> str:
    """Another ticket of the requester, resolved by the desk, drafted into an article (with its
    subject): `/v1/articles` has something to refuse."""
    opened = await clients["intake"].post(
        "/v1/requests",
        json={"channel": "web", "subject": subject, "description": "Rien ne sort."},
        headers=callers["requester"],
    )
    assert opened.status_code == 201, opened.text
    base = f"/v1/tickets/{opened.json()['ticket_id']}"
    agent, ticket = callers["agent"], clients["ticket"]
    for command, body in (("take", {}), ("resolve", RESOLVED)):
        done = await ticket.post(f"{base}/{command}", json=body, headers=agent)
        assert done.status_code == 200, done.text
    drafted = await ticket.post(f"{base}/draft-article", json={}, headers=agent)
    assert drafted.status_code == 201, drafted.text
    return str(drafted.json()["id"])


async def fold_metrics(engine: AsyncEngine, settings: Any) -> None:
    """Metrics folds the log into its facts: `/v1/kpis` has figures to refuse. Like the list, the
    log may stop short of the newest events while another transaction of the cluster runs: fold
    again until every ticket event is in."""
    projection = projection_on(engine)
    query = text("SELECT count(*) FROM eventstore.events WHERE stream_id LIKE 'ticket-%'")
    async with engine.connect() as conn:
        stored = int((await conn.execute(query)).scalar_one())
    for _ in range(500):
        async with projection.begin() as unit:
            result = await replay(unit, settings.business_calendar())
        if result.events_kept >= stored and result.tickets >= 2:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"metrics did not fold the world's {stored} ticket events: {result}")


async def notified(engine: AsyncEngine, ticket_id: str) -> list[str]:
    """Notify records the ticket's notifications (nothing is sent: no SMTP is needed)."""
    handler = NotifyHandler(
        units=PostgresNotifyUnits(engine), sender=_NoSender(), routing=Routing()
    )
    ids: list[str] = []
    for stored in await EventStore(engine).read_stream(f"ticket-{ticket_id}"):
        received = ReceivedEvent(
            event_id=stored.event_id,
            type=stored.type,
            stream_id=stored.stream_id,
            version=stored.version,
            global_position=stored.global_position,
            recorded_at=stored.recorded_at,
            schema_version=stored.schema_version,
            data=stored.data,
        )
        ids.extend(str(i) for i in await handler.record(received))
    return ids


class _NoSender:
    async def send(self, mail: Any) -> str:
        raise AssertionError("the authorisation tests send no mail")
