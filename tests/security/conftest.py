"""A small world for the authorisation tests, on a database of its own: the four services in
process, a requester's ticket with its history and notifications, and tokens of every kind."""

from __future__ import annotations

import base64
import importlib
import json
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jwt
import pytest
from deploy.local.parts import consumer_queues
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_shared.messaging.topology import delete_topology
from helpdesk_testkit.servers import create_database, drop_database, with_database

SUPPORT = Path(__file__).resolve().parents[1] / "support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))

from security_world import (  # noqa: E402
    drafted_article,
    fold_metrics,
    listed,
    notified,
    problem_of,
)

SECRET = "security-tests-secret-0123456789abcdef"
SERVICES = ("intake", "ticket", "notify", "metrics")
#: A requester of the demo directory, and another one.
ALICE = "demo.alpha"
MALLORY = "demo.beta"


def service_settings(service: str, database_url: str, amqp_url: str, names: str) -> Any:
    settings_class = importlib.import_module(f"helpdesk_{service}.settings").Settings
    extra: dict[str, Any] = {
        # The matrix is about authorisation: rate limits have a test of their own.
        "ticket": {"ticket_background_tasks": False},
        "intake": {"intake_rate_limit_per_minute": 0},
    }.get(service, {})
    return settings_class(
        database_url=database_url,
        amqp_url=amqp_url,
        helpdesk_exchange=f"helpdesk.events.{names}",
        helpdesk_queue_prefix=names,
        helpdesk_jwt_secret=SECRET,
        **extra,
    )


def build(service: str, settings: Any, engine: AsyncEngine | None = None) -> Any:
    bootstrap = importlib.import_module(f"helpdesk_{service}.bootstrap")
    if engine is None:
        return bootstrap.build_app(settings)
    return bootstrap.build_app(settings, engine=engine)


def _claims(sub: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "roles": roles, "iat": now, "exp": now + 600, **extra}


def caller_headers(settings: Any) -> dict[str, dict[str, str]]:
    """The Authorization header of every kind of caller the matrix tries."""

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def token(sub: str, roles: list[str], **kw: Any) -> dict[str, str]:
        return bearer(issue_token(settings, sub, roles, **kw))

    manager = issue_token(settings, "boss", ["manager"])
    head, _payload, signature = manager.split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(json.dumps(_claims("mallory", ["admin"])).encode())
        .decode()
        .rstrip("=")
    )
    return {
        "anonymous": {},
        "expired": token("boss", ["manager"], ttl_seconds=-60),
        "forged signature": bearer(
            jwt.encode(_claims("boss", ["manager"]), "not-the-secret-0123456789abcdefghij", "HS256")
        ),
        "alg none": bearer(
            jwt.encode(_claims("boss", ["manager"]), None, algorithm="none")  # type: ignore[arg-type]
        ),
        "tampered claims": bearer(f"{head}.{tampered_payload}.{signature}"),
        "garbage": bearer("not.a.jwt"),
        "requester": token(ALICE, ["requester"]),
        "another requester": token(MALLORY, ["requester"]),
        "agent of another group": token("nina", ["agent"], level=3, groups=["network"]),
        "agent": token("bob", ["agent"], level=1, groups=["desk"]),
        "manager": token("boss", ["manager"]),
        "service": token("pbx", ["service"]),
    }


def _routes() -> list[tuple[str, str, str]]:
    """(service, method, path) of every operation the services document, from their OpenAPI."""
    found = []
    for service in SERVICES:
        settings = service_settings(
            service, "postgresql+asyncpg://u@127.0.0.1/none", "amqp://", "x"
        )
        for path, operations in build(service, settings).openapi()["paths"].items():
            found.extend((service, method.upper(), path) for method in operations)
    return found


ROUTES = _routes()
#: `/readyz` reports the broker connection of a running process (the world's apps run in process,
#: without their consumers): not an authorisation matter, so it is left out of the matrix rather
#: than skipped 48 times; `/healthz` and `/metrics` stand for the routes anyone may call.
MATRIX_ROUTES = [route for route in ROUTES if route[2] != "/readyz"]
CALLERS = list(caller_headers(service_settings("intake", "postgresql://u@h/d", "amqp://", "x")))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`route` and `caller` parameters: every documented operation, every kind of caller."""
    if "route" in metafunc.fixturenames:
        metafunc.parametrize(
            "route", MATRIX_ROUTES, ids=[f"{s} {m} {p}" for s, m, p in MATRIX_ROUTES]
        )
    if "caller" in metafunc.fixturenames:
        metafunc.parametrize("caller", CALLERS)


#: Bodies for the commands a requester may send on its own ticket, so that an intruder's attempt
#: is a real one (a refusal for an invalid body would prove nothing).
BODIES: dict[str, Any] = {
    "qualify": {"type": "incident", "category": "printers", "impact": "low", "urgency": "low"},
    # Staff may move the ticket, but only within the desk: the agent of another group must stay
    # an outsider for the whole matrix.
    "assign": {"group": "desk", "agent": "bob"},
    "take": {},
    "escalate": {"reason": "Intrusion", "to_level": 2, "group": "desk"},
    "route": {"to_group": "desk", "reason": "Intrusion"},
    "comment": {"text": "Intrusion ?"},
    "hold": {"reason": "waiting_requester"},
    "resume": {},
    "record-consent": {"granted": True, "channel": "phone"},
    "schedule": {
        "kind": "on_site",
        "starts_at": f"{date.today() + timedelta(days=30)}T09:00:00+01:00",
    },
    "resolve": {"solution": "Rien", "resolution_code": "fixed"},
    "close": {"code": "resolved"},
    "reopen": {"reason": "Toujours en panne"},
    "rate": {"score": 1},
}

#: Each refused kind of token, with what the 401's detail must say (the reason, not only the
#: status: an expired token refused in place of a forged one would prove nothing).
REFUSED_REASONS = {
    "anonymous": "A bearer token is required",
    "expired": "Signature has expired",
    "forged signature": "Signature verification failed",
    "alg none": "alg value is not allowed",
    "tampered claims": "Signature verification failed",
    "garbage": "The bearer token was refused",
}
REFUSED_KINDS = tuple(REFUSED_REASONS)


@dataclass
class World:
    clients: dict[str, httpx.AsyncClient]
    ticket_id: str
    reference: str
    subject: str
    requester_id: str
    notification_ids: list[str]
    engine: AsyncEngine
    settings: Any
    #: A problem the desk's agent created from the ticket (the ticket is one of its incidents).
    problem_id: str
    #: A draft article the desk's agent made from another ticket of the same requester, resolved.
    article_id: str
    article_subject: str

    routes: tuple[tuple[str, str, str], ...] = tuple(ROUTES)
    refused_kinds: tuple[str, ...] = REFUSED_KINDS
    refused_reasons: dict[str, str] = field(default_factory=lambda: dict(REFUSED_REASONS))

    @property
    def callers(self) -> dict[str, dict[str, str]]:
        """Every kind of caller's header, its token built now: the world lives for the whole
        module, and a token built with it could expire before a late test (and be refused for
        that rather than for what the test names)."""
        return caller_headers(self.settings)

    def url(self, path: str) -> str:
        """The path with the requester's own resources where it names them, unknown ids
        elsewhere."""
        values = {
            "ticket_id": self.ticket_id,
            "requester_id": self.requester_id,
            "notification_id": self.notification_ids[0],
        }
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)

    async def call(self, service: str, method: str, path: str, caller: str) -> httpx.Response:
        body = None
        if method in {"POST", "PUT", "PATCH"}:
            body = BODIES.get(path.rsplit("/", 1)[-1], {})
        return await self.clients[service].request(
            method, self.url(path), json=body, headers=self.callers[caller]
        )

    def secrets(self, path: str = "") -> list[str]:
        """What must never be shown to another requester (an id it put in the URL itself may
        come back in the problem's `instance`)."""
        if "{" in path:
            return [self.reference, self.subject]
        return [self.ticket_id, self.reference, self.subject]


@pytest.fixture(scope="module")
async def world(
    postgres_admin_url: str, migrated_template: str, amqp_url: str
) -> AsyncIterator[World]:
    name = f"helpdesk_sec_{uuid.uuid4().hex[:10]}"
    await create_database(postgres_admin_url, name, template=migrated_template)
    url = with_database(postgres_admin_url, name)
    engine = create_engine(url, pool_size=5, application_name="helpdesk-security-tests")
    clients: dict[str, httpx.AsyncClient] = {}
    names = f"security-{uuid.uuid4().hex[:8]}"
    try:
        await load(engine)
        apps = {s: build(s, service_settings(s, url, amqp_url, names), engine) for s in SERVICES}
        for service, app in apps.items():
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            clients[service] = httpx.AsyncClient(transport=transport, base_url=f"http://{service}")
        settings = service_settings("intake", url, amqp_url, names)
        callers = caller_headers(settings)
        subject = f"Écran noir {uuid.uuid4().hex[:8]}"
        opened = await clients["intake"].post(
            "/v1/requests",
            json={"channel": "web", "subject": subject, "description": "Depuis ce matin."},
            headers=callers["requester"],
        )
        assert opened.status_code == 201, opened.text
        body = opened.json()
        ticket_id = body["ticket_id"]
        agent = callers["agent"]
        said = await clients["ticket"].post(
            f"/v1/tickets/{ticket_id}/comment", json={"text": "On regarde."}, headers=agent
        )
        assert said.status_code == 200, said.text
        await listed(apps["ticket"], engine, ticket_id)
        notifications = await notified(engine, ticket_id)
        problem_id = await problem_of(clients["ticket"], agent, ticket_id)
        article_subject = f"Imprimante muette {uuid.uuid4().hex[:8]}"
        article_id = await drafted_article(clients, callers, article_subject)
        await fold_metrics(engine, service_settings("metrics", url, amqp_url, names))
        yield World(
            clients=clients,
            ticket_id=ticket_id,
            reference=body["reference"],
            subject=subject,
            requester_id=body["requester"]["id"],
            notification_ids=notifications,
            engine=engine,
            settings=settings,
            problem_id=problem_id,
            article_id=article_id,
            article_subject=article_subject,
        )
    finally:
        for client in clients.values():
            await client.aclose()
        await engine.dispose()
        await drop_database(postgres_admin_url, name)
        await _delete_broker_names(amqp_url, names)


async def _delete_broker_names(amqp_url: str, names: str) -> None:
    """The dead-letter routes declare their queues: leave none behind on the shared broker."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_topology(
            channel,
            exchange=f"helpdesk.events.{names}",
            queue_prefix=names,
            consumers=consumer_queues(),
        )
