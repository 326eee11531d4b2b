"""A group of recurring incidents (a metrics problem candidate) becomes one problem linking them
and a draft article, in one call; the group then names its problem instead of a second one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.testing import opened


async def incident(store: EventStore, reference: str) -> uuid.UUID:
    event = opened(at=datetime.now(UTC)).model_copy(update={"reference": reference})
    new = [NewEvent.from_domain(event, EventMetadata(actor="intake"))]
    await store.append(f"ticket-{event.ticket_id}", ExpectedVersion.NO_STREAM, new)
    return event.ticket_id


async def listed(app: FastAPI, references: list[str]) -> None:
    """Catch the list up until it holds `references`: the log shows events only once older than
    every running transaction of the cluster, so one catch-up may not see them yet."""
    query = text("SELECT count(*) FROM ticket.tickets WHERE reference = ANY(:references)")
    engine = app.state.components.engine
    for _ in range(500):
        await app.state.components.projection.catch_up()
        async with engine.connect() as conn:
            if (await conn.execute(query, {"references": references})).scalar() == len(references):
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the list did not catch up")


async def test_a_recurring_group_becomes_one_problem_and_a_draft(
    client: httpx.AsyncClient, auth, event_store: EventStore
) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    references = [f"DSI-R{suffix}-{n}" for n in range(3)]
    ids = [await incident(event_store, r) for r in references]
    app = client._transport.app  # type: ignore[attr-defined]
    assert isinstance(app, FastAPI)
    await listed(app, references)  # references are found in the list
    nina = auth("nina", "agent", groups=["desk"], level=2)
    candidate = {
        "category": "printers",
        "scope": "asset",
        "key": f"PRN-{suffix}",
        "incidents": 3,
        "references": references,
        "first_at": "2026-11-01T08:00:00Z",
        "last_at": "2026-11-20T08:00:00Z",
    }

    made = await client.post("/v1/problems/from-recurring", headers=nina, json=candidate)
    assert made.status_code == 201, made.text
    problem, article = made.json()["problem"], made.json()["article"]
    assert problem["incidents"] == [str(i) for i in ids]
    assert problem["category"] == "printers"
    assert article["status"] == "draft"
    assert article["problem_id"] == problem["id"]
    assert article["from_tickets"] == [str(i) for i in ids]
    assert article["symptom"] == "Imprimante bloquée"

    again = await client.post("/v1/problems/from-recurring", headers=nina, json=candidate)
    assert again.status_code == 409
    assert again.json()["problem_id"] == problem["id"]
    assert again.json()["article_id"] == article["id"]
    params = {"category": "printers", "scope": "asset", "key": f"PRN-{suffix}"}
    existing = await client.get("/v1/problems/recurring", headers=nina, params=params)
    assert existing.json() == {"problem_id": problem["id"], "article_id": article["id"]}
    assert (await client.get(f"/v1/articles/{article['id']}", headers=nina)).status_code == 200


async def test_two_agents_at_once_get_one_problem(
    client: httpx.AsyncClient, auth, event_store: EventStore
) -> None:
    ids = [str(await incident(event_store, "DSI-RACE")) for _ in range(2)]
    nina = auth("nina", "agent", groups=["desk"], level=2)
    group = {"category": "network", "scope": "department", "key": f"D-{uuid.uuid4().hex[:6]}"}
    body = {**group, "ticket_ids": ids}
    answers = await asyncio.gather(
        *(client.post("/v1/problems/from-recurring", headers=nina, json=body) for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409]
    made = next(a.json() for a in answers if a.status_code == 201)
    assert {a.json()["problem_id"] for a in answers if a.status_code == 409} == {
        made["problem"]["id"]
    }


async def test_a_recurring_group_needs_known_incidents(
    client: httpx.AsyncClient, auth, event_store: EventStore
) -> None:
    nina = auth("nina", "agent", groups=["desk"], level=2)
    unknown = {
        "category": "printers",
        "scope": "department",
        "key": "Compta",
        "references": ["X-1", "X-2"],
    }
    refused = await client.post("/v1/problems/from-recurring", headers=nina, json=unknown)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "references"
    one = {**unknown, "references": [], "ticket_ids": [str(await incident(event_store, "DSI-ONE"))]}
    assert (
        await client.post("/v1/problems/from-recurring", headers=nina, json=one)
    ).status_code == 422
    alice = auth("alice", "requester")
    assert (
        await client.post("/v1/problems/from-recurring", headers=alice, json=one)
    ).status_code == 403
