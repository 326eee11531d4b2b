"""The four services in process on this run's database, with tokens for each kind of caller."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import httpx
import pytest
from deploy.local.parts import consumer_queues
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_shared.auth import issue_token
from helpdesk_shared.messaging.topology import delete_topology

SECRET = "hostile-tests-secret-0123456789abcdef"
SERVICES = ("intake", "ticket", "notify", "metrics")

Clients = dict[str, httpx.AsyncClient]
TokenFor = Callable[..., dict[str, str]]


def service_settings(
    service: str, database_url: str, amqp_url: str, exchange: str, prefix: str
) -> Any:
    """A service's settings on this run's servers, with the broker names of these tests."""
    settings_class = importlib.import_module(f"helpdesk_{service}.settings").Settings
    extra: dict[str, Any] = {}
    if service == "ticket":
        extra["ticket_background_tasks"] = False
    return settings_class(
        database_url=database_url,
        amqp_url=amqp_url,
        helpdesk_exchange=exchange,
        helpdesk_queue_prefix=prefix,
        helpdesk_jwt_secret=SECRET,
        **extra,
    )


@pytest.fixture(scope="session")
async def hostile_clients(
    database_url: str, engine: AsyncEngine, amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[Clients]:
    """httpx clients on each service's app (ASGI, no lifespan: no consumer is started)."""
    await load(engine)
    clients: Clients = {}
    for service in SERVICES:
        settings = service_settings(
            service, database_url, amqp_url, f"{exchange_name}.hostile", f"{queue_prefix}-hostile"
        )
        app = importlib.import_module(f"helpdesk_{service}.bootstrap").build_app(
            settings, engine=engine
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        clients[service] = httpx.AsyncClient(transport=transport, base_url=f"http://{service}")
    yield clients
    for client in clients.values():
        await client.aclose()


@pytest.fixture(scope="session")
def token_for(database_url: str) -> TokenFor:
    """`token_for("agent1", "agent")` -> the Authorization header of that caller."""
    settings = service_settings("intake", database_url, "amqp://unused", "x", "x")

    def headers(sub: str, *roles: str, groups: list[str] | None = None) -> dict[str, str]:
        token = issue_token(settings, sub, list(roles), level=1, groups=groups or ["desk"])
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture(scope="session", autouse=True)
async def broker_names_removed(
    amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[None]:
    """The suites' routes may declare dead-letter queues (`/v1/dead-letters`): remove them after
    the run, so the shared broker does not collect queues run after run."""
    yield
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for suffix in ("fuzz", "hostile"):
            channel = await connection.channel()
            await delete_topology(
                channel,
                exchange=f"{exchange_name}.{suffix}",
                queue_prefix=f"{queue_prefix}-{suffix}",
                consumers=consumer_queues(),
            )
