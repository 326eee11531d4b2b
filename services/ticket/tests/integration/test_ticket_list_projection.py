"""The list projection on a database of its own (an empty log), fed by the subscription."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters.projection import rebuild_list
from helpdesk_ticket.bootstrap import Components, build_app
from helpdesk_ticket.settings import Settings
from helpdesk_ticket.testing import opened

# Monday 2 December 2024, 09:00 in Paris.
MONDAY_9 = datetime(2024, 12, 2, 8, 0, tzinfo=UTC)


class World:
    """An app on a fresh database with a settable clock."""

    def __init__(self, http: httpx.AsyncClient, parts: Components, settings: Settings) -> None:
        self.http = http
        self.parts = parts
        self.settings = settings
        self.now = MONDAY_9

    def auth(self, sub: str, *roles: str, **claims: object) -> dict[str, str]:
        token = issue_token(self.settings, sub, list(roles), **claims)  # type: ignore[arg-type]
        return {"Authorization": f"Bearer {token}"}

    async def open(self, requester: str, subject: str = "Imprimante bloquée", **kw: object) -> str:
        event = opened(at=self.now, requester=requester, **kw)  # type: ignore[arg-type]
        event = event.model_copy(update={"subject": subject})
        await EventStore(self.parts.engine).append(
            f"ticket-{event.ticket_id}",
            ExpectedVersion.NO_STREAM,
            [NewEvent.from_domain(event, EventMetadata(actor="intake"))],
        )
        return str(event.ticket_id)

    async def caught_up(self) -> None:
        """Catch up until every stored event is projected. The log only shows events older than
        every running transaction of the cluster, so other work on the server may delay them."""
        check = text(
            """SELECT (SELECT count(*) FROM eventstore.events)
                    = (SELECT coalesce(sum(version), 0) FROM ticket.tickets)"""
        )
        for _ in range(1500):
            await self.parts.projection.catch_up()
            async with self.parts.engine.connect() as conn:
                if (await conn.execute(check)).scalar():
                    return
            await asyncio.sleep(0.02)
        raise AssertionError("the projection did not catch up")


@pytest.fixture
async def world(fresh_database_url: str) -> AsyncIterator[World]:
    settings = Settings(
        database_url=fresh_database_url,
        helpdesk_jwt_secret="ticket-tests-secret-0123456789-abcdef",
        ticket_background_tasks=False,
    )
    engine = create_engine(fresh_database_url, pool_size=2)
    holder: dict[str, World] = {}
    app = build_app(settings, engine=engine, clock=lambda: holder["w"].now)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
        holder["w"] = World(http, app.state.components, settings)
        yield holder["w"]
    await engine.dispose()


async def test_list_filters_searches_and_pages(world: World) -> None:
    desk = world.auth("bob", "agent", groups=["desk"], level=1)
    first = await world.open("alice", "Imprimante bloquée au 2e étage")
    world.now += timedelta(minutes=1)
    await world.open("alice", "Messagerie Outlook inaccessible")
    world.now += timedelta(minutes=1)
    third = await world.open("bruno", "Serveur de fichiers indisponible")
    await world.http.post(f"/v1/tickets/{third}/take", headers=desk)
    await world.http.post(
        f"/v1/tickets/{first}/qualify",
        headers=desk,
        json={"type": "incident", "category": "printers", "impact": "low", "urgency": "high"},
    )
    await world.caught_up()

    everything = (await world.http.get("/v1/tickets", headers=desk)).json()
    assert [i["subject"][:4] for i in everything["items"]] == ["Serv", "Mess", "Impr"]
    taken = (await world.http.get("/v1/tickets?status=in_progress", headers=desk)).json()
    assert [i["id"] for i in taken["items"]] == [third]
    by_category = await world.http.get("/v1/tickets?category=printers&priority=P3", headers=desk)
    assert [i["id"] for i in by_category.json()["items"]] == [first]
    found = await world.http.get("/v1/tickets", headers=desk, params={"q": "serveurs"})
    assert [i["id"] for i in found.json()["items"]] == [third]  # French stemming

    page1 = (await world.http.get("/v1/tickets?limit=2", headers=desk)).json()
    assert len(page1["items"]) == 2
    page2 = (
        await world.http.get(f"/v1/tickets?limit=2&cursor={page1['next_cursor']}", headers=desk)
    ).json()
    assert [i["id"] for i in page2["items"]] == [first]
    assert page2["next_cursor"] is None
    bad = await world.http.get("/v1/tickets?cursor=%%%", headers=desk)
    assert bad.status_code == 422

    mine = (await world.http.get("/v1/tickets", headers=world.auth("bruno", "requester"))).json()
    assert [i["id"] for i in mine["items"]] == [third]
    spying = await world.http.get(
        "/v1/tickets?requester=alice", headers=world.auth("bruno", "requester")
    )
    assert spying.json()["items"] == []


async def test_projection_rebuilds_from_scratch_to_the_same_rows(world: World) -> None:
    desk = world.auth("bob", "agent", groups=["desk"], level=1)
    ticket = await world.open("alice")
    await world.http.post(
        f"/v1/tickets/{ticket}/resolve",
        headers=desk,
        json={"solution": "bourrage papier retiré", "resolution_code": "fix"},
    )
    await world.caught_up()
    query = text("SELECT * FROM ticket.tickets ORDER BY ticket_id")
    async with world.parts.engine.connect() as conn:
        before = [dict(r) for r in (await conn.execute(query)).mappings()]
    assert before[0]["status"] == "resolved"
    assert before[0]["first_contact"] is True
    counts: list[int] = []
    replayed = await rebuild_list(world.parts.engine, world.parts.projection, counts.append)
    assert replayed == 3
    assert counts[-1] == 3  # the running count, for the progress line
    async with world.parts.engine.connect() as conn:
        after = [dict(r) for r in (await conn.execute(query)).mappings()]
    assert after == before


async def test_follow_up_lists_idle_and_due_tickets(world: World) -> None:
    desk = world.auth("bob", "agent", groups=["desk"], level=1)
    quiet = await world.open("alice", "Souris sans fil")
    busy = await world.open("bruno", "Accès Internet lent")
    await world.http.post(f"/v1/tickets/{busy}/take", headers=desk)
    await world.caught_up()

    # Monday 09:20: the untaken ticket is due at 09:30, within the default 4 h.
    world.now = MONDAY_9 + timedelta(minutes=20)
    soon = (await world.http.get("/v1/tickets/follow-up", headers=desk)).json()
    assert (soon[0]["id"], soon[0]["due_soon"], soon[0]["idle"]) == (quiet, True, False)

    # Two days later nothing happened on either: both idle, the untaken one overdue first.
    world.now = MONDAY_9 + timedelta(days=2)
    later = (await world.http.get("/v1/tickets/follow-up", headers=desk)).json()
    assert [i["id"] for i in later] == [quiet, busy]
    assert later[0]["overdue"] is True
    assert all(i["idle"] for i in later)


async def test_sla_watcher_records_a_breach_once(world: World) -> None:
    ticket = await world.open("alice")
    await world.caught_up()
    watcher = world.parts.watcher
    world.now = MONDAY_9 + timedelta(minutes=10)
    assert await watcher.check_once() == 0
    world.now = MONDAY_9 + timedelta(minutes=25)
    assert await watcher.check_once() == 1  # the warning
    await world.caught_up()
    world.now = MONDAY_9 + timedelta(minutes=31)
    assert await watcher.check_once() == 1  # the breach
    await world.caught_up()
    assert await watcher.check_once() == 0
    history = await world.http.get(
        f"/v1/tickets/{ticket}/history", headers=world.auth("max", "manager")
    )
    assert [e["type"] for e in history.json()] == ["TicketOpened", "SlaWarning", "SlaBreached"]
    detail = (
        await world.http.get(f"/v1/tickets/{ticket}", headers=world.auth("max", "manager"))
    ).json()
    take = next(d for d in detail["sla"] if d["target"] == "taking_into_account")
    assert take["breached"] is True
    listed = (await world.http.get("/v1/tickets", headers=world.auth("max", "manager"))).json()
    assert listed["items"][0]["sla_breached"] is True


async def test_the_subscription_runs_in_the_lifespan(fresh_database_url: str) -> None:
    settings = Settings(
        database_url=fresh_database_url,
        helpdesk_jwt_secret="ticket-tests-secret-0123456789-abcdef",
        ticket_sla_watch_seconds=3600,
    )
    app = build_app(settings)
    parts: Components = app.state.components
    async with app.router.lifespan_context(app):
        event = opened(at=datetime.now(UTC), requester=f"r-{uuid.uuid4().hex[:6]}")
        await EventStore(parts.engine).append(
            f"ticket-{event.ticket_id}", ExpectedVersion.NO_STREAM, [NewEvent.from_domain(event)]
        )
        parts.projection.wake()
        for _ in range(1500):
            async with parts.engine.connect() as conn:
                found = (await conn.execute(text("SELECT count(*) FROM ticket.tickets"))).scalar()
            if found:
                break
            await asyncio.sleep(0.02)
        assert found == 1
