"""Health, readiness, metrics and the OpenAPI document of the intake service."""

from __future__ import annotations

import socket

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings


async def test_health_readiness_and_metrics_need_no_token(intake_client: httpx.AsyncClient) -> None:
    assert (await intake_client.get("/healthz")).status_code == 200
    ready = await intake_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok"}
    text = (await intake_client.get("/metrics")).text
    assert "helpdesk_http_requests_total" in text
    for counter in (
        "helpdesk_intake_tickets_opened",
        "helpdesk_intake_inbound_emails",
        "helpdesk_intake_calls_recorded",
    ):
        assert f"# TYPE {counter}_total counter" in text


async def test_ready_without_the_broker(intake_settings: Settings, engine: AsyncEngine) -> None:
    """Intake appends to the store; the relay publishes: a broker down does not stop intake."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = intake_settings.model_copy(
        update={"amqp_url": f"amqp://guest:guest@127.0.0.1:{port}/"}
    )
    app = build_app(settings, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://i") as c:
        ready = await c.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok"}


async def test_openapi_documents_the_intake_routes(intake_client: httpx.AsyncClient) -> None:
    paths = (await intake_client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/requests",
        "/v1/requesters",
        "/v1/contracts",
        "/v1/calls",
        "/v1/inbound-emails",
    ):
        assert path in paths


def test_default_port_is_8001() -> None:
    assert Settings().intake_port == 8001
