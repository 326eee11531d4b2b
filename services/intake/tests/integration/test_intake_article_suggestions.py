"""Intake's answer carries the knowledge base's suggestions, asked of a real ticket service over
HTTP (served on a free port, same fresh database); without it the request opens all the same."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import create_engine
from helpdesk_testkit.stalling import stalling_server
from helpdesk_ticket.bootstrap import build_app as build_ticket_app
from helpdesk_ticket.settings import Settings as TicketSettings

SECRET = "intake-kb-tests-secret-0123456789abcdef"
FORM = {
    "type": "incident",
    "channel": "phone",
    "subject": "Imprimante réseau",
    "description": "L'imprimante réseau ne répond plus depuis ce matin.",
    "requester": {"login": "demo.alpha"},
    "category": "printers",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def bearer(sub: str, role: str) -> dict[str, str]:
    token = issue_token(Settings(helpdesk_jwt_secret=SECRET), sub, [role], level=1, groups=["desk"])
    return {"Authorization": f"Bearer {token}"}


async def answering(url: str) -> None:
    """Wait until the server answers its health check (no fixed sleep)."""
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(500):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.01)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
async def ticket_url(fresh_database_url: str) -> AsyncIterator[str]:
    """The ticket service on a free port, with one published article about network printers."""
    engine = create_engine(fresh_database_url)
    settings = TicketSettings(
        database_url=fresh_database_url,
        helpdesk_jwt_secret=SECRET,
        ticket_background_tasks=False,
    )
    port = free_port()
    config = uvicorn.Config(
        build_ticket_app(settings, engine=engine), host="127.0.0.1", port=port, log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        url = f"http://127.0.0.1:{port}"
        await answering(url)
        async with httpx.AsyncClient(base_url=url, headers=bearer("bob", "agent")) as http:
            created = await http.post(
                "/v1/articles",
                json={
                    "title": "Imprimantes en réseau injoignables",
                    "symptom": "Les imprimantes en réseau ne répondent plus",
                    "resolution_steps": ["Redémarrer le spouleur"],
                    "category": "printers",
                    "audience": "public",
                },
            )
            assert created.status_code == 201, created.text
            await http.post(f"/v1/articles/{created.json()['id']}/publish")
        yield url
    finally:
        server.should_exit = True
        await task
        await engine.dispose()


async def submit(database_url: str, ticket_url: str, **headers: str) -> httpx.Response:
    engine = create_engine(database_url)
    try:
        await load(engine)
        settings = Settings(
            database_url=database_url, helpdesk_jwt_secret=SECRET, intake_ticket_url=ticket_url
        )
        app = build_app(settings, engine=engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            return await http.post("/v1/requests", json=FORM, headers=headers)
    finally:
        await engine.dispose()


async def test_the_answer_suggests_matching_published_articles(
    fresh_database_url: str, ticket_url: str
) -> None:
    answer = await submit(fresh_database_url, ticket_url, **bearer("agent.dupont", "agent"))
    assert answer.status_code == 201, answer.text
    suggested: list[dict[str, Any]] = answer.json()["suggested_articles"]
    assert [a["title"] for a in suggested] == ["Imprimantes en réseau injoignables"]
    async with httpx.AsyncClient(base_url=ticket_url, headers=bearer("bob", "agent")) as http:
        article = (await http.get(f"/v1/articles/{suggested[0]['id']}")).json()
    assert article["suggested"] == 1


async def test_without_the_ticket_service_the_request_opens_without_suggestions(
    fresh_database_url: str,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    answer = await submit(fresh_database_url, nobody, **bearer("agent.dupont", "agent"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["suggested_articles"] == []


async def test_a_ticket_service_that_hangs_costs_the_suggestions_timeout_not_the_request(
    fresh_database_url: str,
) -> None:
    """`INTAKE_SUGGESTIONS_TIMEOUT_SECONDS`: the ticket service accepts the connection and never
    answers; the request opens all the same, without suggestions, once the timeout fired."""
    async with stalling_server() as port:
        answer = await submit(
            fresh_database_url, f"http://127.0.0.1:{port}", **bearer("agent.dupont", "agent")
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["suggested_articles"] == []
