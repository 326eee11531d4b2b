"""The metrics service end to end: store -> relay -> RabbitMQ -> consumer -> `/v1/kpis`, `/metrics`.

Real PostgreSQL and RabbitMQ; each test has its own database, exchange and queue prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aio_pika
import httpx
import pytest
from fastapi import FastAPI

from helpdesk_metrics.bootstrap import build_app
from helpdesk_metrics.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_shared.relay.relay import Relay
from helpdesk_testkit.broker import eventually

NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
MARCH = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


class Desk(Protocol):
    events: list[Any]


class Service:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
        self.app = app
        self.client = client
        self.settings = settings

    def token(self, *roles: str) -> dict[str, str]:
        jwt = issue_token(self.settings, "someone", list(roles), groups=["desk"])
        return {"Authorization": f"Bearer {jwt}"}


@pytest.fixture
async def service(
    fresh_database_url: str, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[Service]:
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=fresh_database_url,
        amqp_url=amqp_url,
        helpdesk_exchange=f"{exchange_name}.{suffix}",
        helpdesk_queue_prefix=f"{queue_prefix}.{suffix}",
        helpdesk_jwt_secret="test-secret-for-this-run-only-0123456789",
        metrics_scrape_cache_seconds=0,
    )
    engine = create_engine(fresh_database_url, pool_size=4, application_name="metrics-http")
    app = build_app(settings, engine=engine, clock=lambda: NOON)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://metrics") as client,
        ):
            yield Service(app, client, settings)
    finally:
        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        await delete_topology(
            channel,
            exchange=settings.helpdesk_exchange,
            queue_prefix=settings.helpdesk_queue_prefix,
        )
        await connection.close()
        await engine.dispose()


async def _fold_through_the_broker(service: Service, events: list[Any]) -> Consumer:
    """Store `events`, let the shared relay publish them and wait for the service's own consumer
    to handle every one (the path a live deployment takes)."""
    engine = service.app.state.engine
    store = EventStore(engine)
    for stored in events:
        await store.append(stored.stream_id, ExpectedVersion.ANY, [stored.event])
    relay = Relay(
        engine=engine,
        amqp_url=service.settings.amqp_url,
        exchange=service.settings.helpdesk_exchange,
        queue_prefix=service.settings.helpdesk_queue_prefix,
    )
    relaying = asyncio.create_task(relay.run())
    consumer: Consumer = service.app.state.consumers[0]
    try:
        await eventually(lambda: consumer.handled == len(events), what="the consumer")
    finally:
        await relay.stop()
        await relaying
    return consumer


async def test_figures_arrive_through_the_broker(
    service: Service, busy_morning: Callable[[], Desk]
) -> None:
    desk = busy_morning()
    consumer = await _fold_through_the_broker(service, desk.events)
    assert consumer.dead_lettered == 0

    response = await service.client.get("/v1/kpis", params=MARCH, headers=service.token("manager"))
    assert response.status_code == 200, response.text
    body = response.json()
    figures = {c["name"]: c for c in body["commitments"]}
    assert figures["call_abandonment"]["value"] == pytest.approx(0.2)
    assert figures["call_abandonment"]["met"] is False
    assert figures["calls_answered_within_30s"]["numerator"] == 7
    assert figures["mail_web_taken_within_30min"]["denominator"] == 10
    assert figures["resolved_by_single_desk"]["met"] is True
    assert figures["resolved_by_single_desk"]["period"] == {
        "from": MARCH["from"].replace("Z", "+00:00").replace("+00:00", "Z"),
        "to": MARCH["to"],
    }
    assert body["backlog"]["total"] == 12
    assert body["opened_per_day"] == {"2026-03-02": {"email": 5, "phone": 6, "web": 5}}

    web = await service.client.get(
        "/v1/kpis", params={**MARCH, "channel": "web"}, headers=service.token("agent")
    )
    assert web.status_code == 200
    assert web.json()["filters"] == {"group": None, "channel": "web"}
    assert {c["name"]: c for c in web.json()["commitments"]}["call_abandonment"]["value"] is None

    scrape = await service.client.get("/metrics")
    assert scrape.status_code == 200
    text = scrape.text
    assert 'helpdesk_tickets_opened_total{channel="web",type="incident"} 5.0' in text
    assert 'helpdesk_calls_total{outcome="abandoned"} 2.0' in text
    assert 'helpdesk_commitment_ratio{commitment="call_abandonment"} 0.2' in text
    assert 'helpdesk_commitment_met{commitment="resolved_by_single_desk"} 1.0' in text
    assert 'helpdesk_ticket_take_into_account_seconds_count{priority="P3"} 15.0' in text
    assert "helpdesk_backlog_tickets{" in text

    ready = await service.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_who_may_read_the_indicators(service: Service) -> None:
    client = service.client
    assert (await client.get("/v1/kpis")).status_code == 401
    refused = await client.get("/v1/kpis", headers=service.token("requester"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    for role in ("agent", "manager", "admin", "service"):
        answer = await client.get("/v1/kpis", params=MARCH, headers=service.token(role))
        assert answer.status_code == 200, role
        assert len(answer.json()["commitments"]) == 4


async def test_invalid_periods_and_filters_are_422(service: Service) -> None:
    headers = service.token("manager")
    reversed_ = await service.client.get(
        "/v1/kpis", params={"from": MARCH["to"], "to": MARCH["from"]}, headers=headers
    )
    assert reversed_.status_code == 422
    assert reversed_.json()["errors"][0]["field"] == "from"
    naive = await service.client.get("/v1/kpis", params={"to": "2026-03-01T00:00"}, headers=headers)
    assert naive.status_code == 422
    channel = await service.client.get("/v1/kpis", params={"channel": "fax"}, headers=headers)
    assert channel.status_code == 422


def _last_christmas_on_weekdays(today: date) -> int:
    """The latest year before `today` whose 24, 25 and 26 December are Monday to Friday: the
    holiday is then the only closed day between the 24th and the 26th."""
    year = today.year if today >= date(today.year, 12, 27) else today.year - 1
    while date(year, 12, 24).isoweekday() > 3:
        year -= 1
    return year


async def test_a_holiday_is_not_counted_in_the_30_minute_commitment(
    service: Service,
    new_desk: Callable[[], Any],
    minutes_from_monday: Callable[[datetime], float],
) -> None:
    """Mail received on 24 December at 17:45 (Paris), taken into account on the 26th at 08:10:
    15 minutes before closing plus 10 after opening, 25 December being a public holiday. The
    figures come from the service's own configuration (`Settings`), through the broker."""
    paris = ZoneInfo("Europe/Paris")  # the desk's zone, whatever the settings call it
    year = _last_christmas_on_weekdays(date.today())
    received = datetime(year, 12, 24, 17, 45, tzinfo=paris).astimezone(UTC)
    taken = datetime(year, 12, 26, 8, 10, tzinfo=paris).astimezone(UTC)
    desk = new_desk()
    start = minutes_from_monday(received) + 1  # `Desk` receives one minute before opening
    desk.ticket(
        channel="email", start=start, take_after=(taken - received).total_seconds() / 60 - 1
    )
    await _fold_through_the_broker(service, desk.events)
    december = {"from": f"{year}-12-01T00:00:00Z", "to": f"{year + 1}-01-01T00:00:00Z"}
    response = await service.client.get(
        "/v1/kpis", params=december, headers=service.token("manager")
    )
    assert response.status_code == 200, response.text
    figures = {c["name"]: c for c in response.json()["commitments"]}
    taken_in_time = figures["mail_web_taken_within_30min"]
    assert taken_in_time["denominator"] == 1, taken_in_time
    assert taken_in_time["numerator"] == 1, taken_in_time
