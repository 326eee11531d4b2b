"""`GET /v1/notifications` and the daily digest against real PostgreSQL and SMTP (aiosmtpd)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters.smtp import SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.digest import send_digests
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.bootstrap import build_app
from helpdesk_notify.domain.notifications import Routing
from helpdesk_notify.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.events.ticket import (
    Admissibility,
    Channel,
    PreQualification,
    RequesterSnapshot,
    Routed,
    TicketOpened,
    TicketType,
)
from helpdesk_shared.messaging.envelope import ReceivedEvent

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECRET = "notify-api-test-secret-0123456789abcdef"


def envelope(event: Any, version: int) -> ReceivedEvent:
    return ReceivedEvent(
        event_id=uuid.uuid4(),
        type=event.event_type(),
        stream_id=f"ticket-{event.ticket_id}",
        version=version,
        global_position=version,
        recorded_at=NOW,
        schema_version=1,
        data=event.to_data(),
    )


def opened(ticket_id: uuid.UUID, login: str, group: str = "desk") -> ReceivedEvent:
    return envelope(
        TicketOpened(
            ticket_id=ticket_id,
            occurred_at=NOW,
            reference=f"INC-2026-{ticket_id.int % 1_000_000:06d}",
            type=TicketType.SERVICE_REQUEST,
            channel=Channel.WEB,
            requester=RequesterSnapshot(login=login, name=login, email=f"{login}@ac-paris.fr"),
            subject="Accès au partage réseau",
            description="Demande d'accès.",
            pre_qualification=PreQualification(outcome=Admissibility.ADMISSIBLE),
            group=group,
            received_at=NOW,
        ),
        1,
    )


def routed(ticket_id: uuid.UUID, to_group: str) -> ReceivedEvent:
    event = Routed(
        ticket_id=ticket_id,
        occurred_at=NOW,
        from_group="desk",
        to_group=to_group,
        reason="Partages réseau",
        by="agent1",
    )
    return envelope(event, 2)


async def feed(engine: AsyncEngine, port: int, *events: ReceivedEvent) -> None:
    sender = SmtpSender(host="127.0.0.1", port=port, sender="helpdesk@helpdesk.local")
    handler = NotifyHandler(units=PostgresNotifyUnits(engine), sender=sender, routing=Routing())
    for event in events:
        async with engine.begin() as conn:
            await handler(event, conn)


@pytest.fixture
def settings(database_url: str, amqp_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        amqp_url=amqp_url,
        helpdesk_jwt_secret=SECRET,
        notify_consumer_enabled=False,
    )


@pytest.fixture
async def client(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as http:
        yield http


def bearer(settings: Settings, sub: str, roles: list[str], groups: list[str] | None = None) -> Any:
    token = issue_token(settings, sub, roles, groups=groups)
    return {"Authorization": f"Bearer {token}"}


async def test_notifications_by_ticket_recipient_and_status_for_each_role(
    engine: AsyncEngine, smtp_server: Any, client: httpx.AsyncClient, settings: Settings
) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    me, them = f"u{mine.hex[:8]}", f"u{other.hex[:8]}"
    group = f"g{mine.hex[:8]}"
    await feed(engine, smtp_server.port, opened(mine, me), routed(mine, group), opened(other, them))

    manager = bearer(settings, "chef", ["manager"])
    answer = await client.get("/v1/notifications", params={"ticket_id": str(mine)}, headers=manager)
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert {(i["template"], i["status"]) for i in items} == {
        ("opened", "sent"),
        ("handover", "sent"),
    }
    handover = next(i for i in items if i["template"] == "handover")
    assert handover["recipient"] == f"{group}@helpdesk.local"
    assert handover["subject"].startswith("[INC-2026-")

    by_recipient = await client.get(
        "/v1/notifications", params={"recipient": f"{them}@ac-paris.fr"}, headers=manager
    )
    assert [i["ticket_id"] for i in by_recipient.json()["items"]] == [str(other)]

    requester = bearer(settings, me, ["requester"])
    own = (await client.get("/v1/notifications", headers=requester)).json()["items"]
    assert [(i["ticket_id"], i["template"]) for i in own] == [(str(mine), "opened")]
    theirs = await client.get(
        "/v1/notifications", params={"ticket_id": str(other)}, headers=requester
    )
    assert theirs.json()["items"] == []

    agent = bearer(settings, "agent2", ["agent"], groups=[group])
    seen = (await client.get("/v1/notifications", headers=agent)).json()["items"]
    assert {i["ticket_id"] for i in seen} == {str(mine)}
    desk = bearer(settings, "agent1", ["agent"], groups=["desk"])  # follows every ticket up
    for ticket in (mine, other):  # by ticket: the session's database holds other tests' too
        followed = await client.get(
            "/v1/notifications", params={"ticket_id": str(ticket)}, headers=desk
        )
        assert {i["ticket_id"] for i in followed.json()["items"]} == {str(ticket)}

    detail = await client.get(f"/v1/notifications/{own[0]['id']}", headers=requester)
    assert detail.status_code == 200
    assert "Accès au partage réseau" in detail.json()["body_text"]
    hidden = await client.get(f"/v1/notifications/{handover['id']}", headers=requester)
    assert hidden.status_code == 404

    failed = await client.get(
        "/v1/notifications", params={"status": "failed", "ticket_id": str(mine)}, headers=manager
    )
    assert failed.json()["items"] == []


async def test_notifications_refuse_missing_tokens_and_bad_filters(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await client.get("/v1/notifications")).status_code == 401
    bad = await client.get(
        "/v1/notifications",
        params={"status": "lost"},
        headers=bearer(settings, "chef", ["manager"]),
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"].endswith("status")


async def test_daily_digest_reaches_each_group_once_per_day(
    fresh_database_url: str, smtp_server: Any
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2)
    try:
        idle, busy = uuid.uuid4(), uuid.uuid4()
        await feed(engine, smtp_server.port, opened(idle, "alice"), opened(busy, "bob"))
        await feed(engine, smtp_server.port, routed(busy, "servers"))
        sender = SmtpSender(host="127.0.0.1", port=smtp_server.port, sender="h@helpdesk.local")
        later = NOW + timedelta(days=2)
        first = await send_digests(PostgresNotifyUnits(engine), sender, Routing(), now=later)
        again = await send_digests(
            PostgresNotifyUnits(engine), sender, Routing(), now=later + timedelta(hours=1)
        )
        assert len(first.sent) == 2
        assert again.sent == []
        (desk,) = smtp_server.messages(to="desk@helpdesk.local")
        assert desk["Subject"].startswith("[Suivi quotidien] desk : 1 sans activité")
        handover, servers = smtp_server.messages(to="servers@helpdesk.local")
        assert handover["Subject"].startswith("[INC-2026-")
        assert servers["Subject"].startswith("[Suivi quotidien] servers : 1 sans activité")
        assert "Accès au partage réseau" in servers.get_body(("plain",)).get_content()
    finally:
        await engine.dispose()


async def test_readyz_reports_the_broker_down_while_the_app_stays_alive(
    settings: Settings, engine: AsyncEngine
) -> None:
    closed_port = settings.model_copy(
        update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/", "notify_consumer_enabled": True}
    )
    app = build_app(closed_port, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            checks = ready.json()["checks"]
            assert checks["database"] == "ok"
            assert checks["broker"].startswith("unavailable")
