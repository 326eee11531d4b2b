"""`Idempotency-Key` on the problem and article routes, as on ticket commands: a retry with the
same key and body gets the first answer (status, body, `ETag`, `Location`) and appends nothing;
the same key with another body is refused with the `idempotency-key-reused` problem. On the real
PostgreSQL; each test signs in as an actor of its own and counts the events that actor wrote."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.eventstore.store import EventStore

from .conftest import Auth, Opener
from .test_article_http import article, resolved_ticket

REUSED = "urn:helpdesk:problem:idempotency-key-reused"
Written = Callable[[], Awaitable[int]]


@pytest.fixture
def actor() -> str:
    return f"agent-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def written(engine: AsyncEngine, actor: str) -> Written:
    """How many events this test's actor has appended so far."""

    async def count() -> int:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM eventstore.events WHERE metadata->>'actor' = :actor"),
                {"actor": actor},
            )
        return int(found or 0)

    return count


def _keyed(auth: Auth, actor: str) -> dict[str, str]:
    staff = auth(actor, "agent", groups=["desk", "network"], level=2)
    return {**staff, "Idempotency-Key": f"key-{uuid.uuid4()}"}


def _same_answer(first: httpx.Response, retry: httpx.Response) -> None:
    assert retry.status_code == first.status_code, retry.text
    assert retry.json() == first.json()
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers.get("Location") == first.headers.get("Location")


def _reused(answer: httpx.Response) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == REUSED
    assert answer.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_problem_command_retried_with_its_key_is_applied_once(
    client: httpx.AsyncClient, auth: Auth, actor: str, written: Written
) -> None:
    headers = _keyed(auth, actor)
    created = await client.post(
        "/v1/problems", headers=auth(actor, "agent"), json={"title": "t", "description": "d"}
    )
    assert created.status_code == 201, created.text
    url = f"/v1/problems/{created.json()['id']}/workaround"
    body = {"workaround": "Redémarrer le switch", "known_error": True, "root_cause": "firmware"}

    created_only = await written()
    first = await client.post(url, headers=headers, json=body)
    assert first.status_code == 200, first.text
    before = await written()
    assert before > created_only
    retry = await client.post(url, headers=headers, json=body)
    _same_answer(first, retry)
    assert await written() == before  # the retry appended nothing
    _reused(await client.post(url, headers=headers, json={**body, "workaround": "autre"}))
    assert await written() == before


async def test_a_problem_link_keeps_hiding_the_incidents_the_caller_may_not_read(
    client: httpx.AsyncClient, auth: Auth, open_ticket: Opener, caught_up: Any, actor: str
) -> None:
    """The stored answer is filtered as the unkeyed command's answer is: by the caller's reach."""
    hidden, own = await open_ticket(group="payroll"), await open_ticket(group="network")
    await caught_up()
    manager = auth("manager", "manager")
    created = await client.post(
        "/v1/problems",
        headers=manager,
        json={"title": "t", "description": "d", "incidents": [str(hidden)]},
    )
    headers = {**auth(actor, "agent", groups=["network"], level=2), "Idempotency-Key": "link-1"}
    url = f"/v1/problems/{created.json()['id']}/link"
    first = await client.post(url, headers=headers, json={"ticket_id": str(own)})
    retry = await client.post(url, headers=headers, json={"ticket_id": str(own)})
    assert first.json()["incidents"] == [str(own)], first.text
    _same_answer(first, retry)


async def test_an_article_drafted_with_a_key_is_drafted_once(
    client: httpx.AsyncClient, auth: Auth, actor: str, written: Written
) -> None:
    headers = _keyed(auth, actor)
    body = article("printers")
    first = await client.post("/v1/articles", headers=headers, json=body)
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/articles/{first.json()['id']}"
    retry = await client.post("/v1/articles", headers=headers, json=body)
    _same_answer(first, retry)
    assert await written() == 1
    _reused(await client.post("/v1/articles", headers=headers, json={**body, "title": "autre"}))
    assert await written() == 1


async def test_an_article_command_retried_with_its_key_is_applied_once(
    client: httpx.AsyncClient, auth: Auth, actor: str, written: Written
) -> None:
    staff = auth(actor, "agent", groups=["desk"], level=2)
    created = await client.post("/v1/articles", headers=staff, json=article("printers"))
    base = f"/v1/articles/{created.json()['id']}"
    headers = {**staff, "Idempotency-Key": f"publish-{uuid.uuid4()}"}

    first = await client.post(f"{base}/publish", headers=headers)
    assert first.status_code == 200, first.text
    published = await written()
    assert published > 1
    retry = await client.post(f"{base}/publish", headers=headers)
    _same_answer(first, retry)
    assert await written() == published
    unkeyed = await client.post(f"{base}/publish", headers=staff)
    assert unkeyed.status_code == 409  # without the key: the command again, refused
    _reused(await client.post(f"{base}/retire", headers=headers, json={"reason": "obsolète"}))
    assert await written() == published


async def test_a_draft_from_a_ticket_with_a_key_is_drafted_once(
    client: httpx.AsyncClient, auth: Auth, event_store: EventStore, actor: str, written: Written
) -> None:
    staff = auth(actor, "agent", groups=["desk"], level=1)
    ticket_id = await resolved_ticket(client, event_store, staff)
    headers = {**staff, "Idempotency-Key": f"draft-{uuid.uuid4()}"}
    url = f"/v1/tickets/{ticket_id}/draft-article"
    before = await written()

    first = await client.post(url, headers=headers, json={"audience": "public"})
    assert first.status_code == 201, first.text
    retry = await client.post(url, headers=headers, json={"audience": "public"})
    _same_answer(first, retry)
    assert await written() == before + 1
    _reused(await client.post(url, headers=headers, json={"audience": "agents"}))


def test_the_problem_and_article_routes_declare_the_key(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    paths = app.openapi()["paths"]
    for path in (
        "/v1/problems",
        "/v1/problems/{problem_id}/link",
        "/v1/problems/{problem_id}/resolve",
        "/v1/articles",
        "/v1/articles/{article_id}/publish",
        "/v1/articles/{article_id}/revise",
        "/v1/tickets/{ticket_id}/draft-article",
    ):
        headers = [p for p in paths[path]["post"]["parameters"] if p["in"] == "header"]
        keys = [p for p in headers if p["name"] == "Idempotency-Key"]
        assert keys, path
        assert "applied once" in keys[0]["description"], path
