"""Knowledge base over HTTP against the real database: lifecycle, drafts from tickets, French
search, FAQ, suggestions on the ticket detail and resolutions counted on the article."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings
from helpdesk_ticket.testing import opened

BOB = {"groups": ["desk"], "level": 1}


def article(category: str, **changes: Any) -> dict[str, Any]:
    body = {
        "title": "Imprimantes en réseau injoignables",
        "symptom": "Les imprimantes en réseau ne répondent plus depuis les postes du service",
        "cause": "Le serveur d'impression a perdu sa file",
        "resolution_steps": ["Redémarrer le spouleur", "Relancer l'impression"],
        "category": category,
        "hardware": ["HP LaserJet"],
        "audience": "public",
    }
    return {**body, **changes}


async def published(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> str:
    created = await client.post("/v1/articles", headers=headers, json=body)
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    done = await client.post(f"/v1/articles/{article_id}/publish", headers=headers)
    assert done.status_code == 200, done.text
    return str(article_id)


async def resolved_ticket(
    client: httpx.AsyncClient, store: EventStore, headers: dict[str, str], **resolve: Any
) -> uuid.UUID:
    event = opened(at=datetime.now(UTC))
    stream = f"ticket-{event.ticket_id}"
    new = [NewEvent.from_domain(event, EventMetadata(actor="intake"))]
    await store.append(stream, ExpectedVersion.NO_STREAM, new)
    base = f"/v1/tickets/{event.ticket_id}"
    assert (await client.post(f"{base}/take", headers=headers)).status_code == 200
    body = {"solution": "Spouleur redémarré.\nFile relancée", "resolution_code": "fix", **resolve}
    done = await client.post(f"{base}/resolve", headers=headers, json=body)
    assert done.status_code == 200, done.text
    return event.ticket_id


async def test_article_lifecycle_keeps_every_version(client: httpx.AsyncClient, auth) -> None:
    bob = auth("bob", "agent", **BOB)
    created = await client.post("/v1/articles", headers=bob, json=article("kb-life"))
    assert created.status_code == 201, created.text
    base = created.headers["location"]
    assert created.json()["status"] == "draft"
    assert created.json()["allowed_commands"] == ["revise", "publish", "retire"]

    revised = await client.post(
        f"{base}/revise",
        headers={**bob, "If-Match": created.headers["etag"]},
        json={**article("kb-life", cause="Pilote obsolète"), "note": "cause trouvée"},
    )
    assert revised.status_code == 200, revised.text
    stale = await client.post(f"{base}/publish", headers={**bob, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await client.post(f"{base}/publish", headers=bob)).json()["published_version"] == 2

    got = (await client.get(base, headers=bob)).json()
    assert [v["number"] for v in got["versions"]] == [1, 2]
    assert got["versions"][0]["content"]["cause"] == "Le serveur d'impression a perdu sa file"
    assert got["cause"] == "Pilote obsolète"

    retired = await client.post(f"{base}/retire", headers=bob, json={"reason": "obsolète"})
    assert retired.json()["status"] == "retired"
    refused = await client.post(f"{base}/publish", headers=bob)
    assert refused.status_code == 409
    assert refused.json()["allowed"] == []


async def test_requesters_read_published_faq_entries_only(client: httpx.AsyncClient, auth) -> None:
    bob, alice = auth("bob", "agent", **BOB), auth("alice", "requester")
    category = f"kb-faq-{uuid.uuid4().hex[:8]}"
    public = await published(client, bob, article(category))
    internal = await published(client, bob, article(category, audience="agents"))
    draft = await client.post("/v1/articles", headers=bob, json=article(category))
    draft_id = draft.json()["id"]

    faq = await client.get("/v1/articles/faq", headers=alice, params={"category": category})
    assert [a["id"] for a in faq.json()] == [public]
    listed = await client.get("/v1/articles", headers=alice, params={"category": category})
    assert [a["id"] for a in listed.json()] == [public]
    staff = await client.get("/v1/articles", headers=bob, params={"category": category})
    assert {a["id"] for a in staff.json()} == {public, internal, draft_id}
    assert (await client.get(f"/v1/articles/{draft_id}", headers=alice)).status_code == 404
    entry = (await client.get(f"/v1/articles/{public}", headers=alice)).json()
    assert entry["versions"] == []
    assert entry["from_tickets"] == []
    assert (
        await client.post("/v1/articles", headers=alice, json=article(category))
    ).status_code == 403


async def test_french_search_stems_folds_accents_and_ranks(client: httpx.AsyncClient, auth) -> None:
    bob = auth("bob", "agent", **BOB)
    category = f"kb-search-{uuid.uuid4().hex[:8]}"
    printers = await published(client, bob, article(category))
    other = await published(
        client,
        bob,
        article(
            category,
            title="Messagerie lente",
            symptom="Outlook met longtemps à ouvrir les messages; une imprimante est citée",
            cause=None,
            resolution_steps=["Compacter la boîte"],
            hardware=[],
        ),
    )
    params = {"q": "imprimante réseau ne répond plus", "category": category}
    found = (await client.get("/v1/articles", headers=bob, params=params)).json()
    assert [a["id"] for a in found] == [printers, other]
    assert found[0]["rank"] > found[1]["rank"]

    unaccented = {"q": "reseau repondent", "category": category}
    assert [
        a["id"] for a in (await client.get("/v1/articles", headers=bob, params=unaccented)).json()
    ] == [printers]
    nothing = {"q": "téléphonie", "category": category}
    assert (await client.get("/v1/articles", headers=bob, params=nothing)).json() == []
    everywhere = await client.get(
        "/v1/articles", headers=bob, params={"q": params["q"], "limit": 100}
    )
    assert printers in [a["id"] for a in everywhere.json()]


async def test_a_resolved_ticket_drafts_an_article_in_one_call(
    client: httpx.AsyncClient, auth, event_store: EventStore
) -> None:
    bob = auth("bob", "agent", **BOB)
    ticket_id = await resolved_ticket(client, event_store, bob)
    drafted = await client.post(
        f"/v1/tickets/{ticket_id}/draft-article", headers=bob, json={"audience": "public"}
    )
    assert drafted.status_code == 201, drafted.text
    body = drafted.json()
    assert body["symptom"] == "L'imprimante du 2e étage n'imprime plus"
    assert body["resolution_steps"] == ["Spouleur redémarré.", "File relancée"]
    assert body["from_tickets"] == [str(ticket_id)]
    assert body["audience"] == "public"
    assert body["status"] == "draft"

    event = opened(at=datetime.now(UTC))
    new = [NewEvent.from_domain(event, EventMetadata(actor="intake"))]
    await event_store.append(f"ticket-{event.ticket_id}", ExpectedVersion.NO_STREAM, new)
    unresolved = await client.post(f"/v1/tickets/{event.ticket_id}/draft-article", headers=bob)
    assert unresolved.status_code == 422
    assert unresolved.json()["errors"][0]["field"] == "from_ticket"


@pytest.fixture
async def fresh_client(
    fresh_database_url: str, ticket_settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, EventStore]]:
    """An app on an empty database: the suggestions are not disturbed by other tests."""
    engine = create_engine(fresh_database_url)
    settings = ticket_settings.model_copy(update={"database_url": fresh_database_url})
    app = build_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ticket") as http:
            yield http, EventStore(engine)
    finally:
        await engine.dispose()


async def test_ticket_detail_suggests_and_resolutions_are_counted(
    fresh_client: tuple[httpx.AsyncClient, EventStore], auth
) -> None:
    client, store = fresh_client
    bob, alice = auth("bob", "agent", **BOB), auth("alice", "requester")
    scenario = await published(
        client, bob, article("printers", title="Imprimante qui n'imprime plus", audience="agents")
    )
    event = opened(at=datetime.now(UTC))
    new = [NewEvent.from_domain(event, EventMetadata(actor="intake"))]
    await store.append(f"ticket-{event.ticket_id}", ExpectedVersion.NO_STREAM, new)
    base = f"/v1/tickets/{event.ticket_id}"

    detail = (await client.get(base, headers=bob)).json()
    assert [a["id"] for a in detail["suggested_articles"]] == [scenario]
    await client.get(base, headers=bob)  # seen again: counted once for this ticket
    assert (await client.get(base, headers=alice)).json()["suggested_articles"] == []
    assert (await client.get(f"/v1/articles/{scenario}", headers=bob)).json()["suggested"] == 1

    draft = (await client.post("/v1/articles", headers=bob, json=article("printers"))).json()
    await client.post(f"{base}/take", headers=bob)
    refused = await client.post(
        f"{base}/resolve",
        headers=bob,
        json={"solution": "x", "resolution_code": "fix", "article_id": draft["id"]},
    )
    assert refused.status_code == 422
    solved = await client.post(
        f"{base}/resolve",
        headers=bob,
        json={"solution": "Spouleur", "resolution_code": "fix", "article_id": scenario},
    )
    assert solved.status_code == 200, solved.text
    counted = (await client.get(f"/v1/articles/{scenario}", headers=bob)).json()
    assert counted["solved"] == 1
    listed = (await client.get("/v1/articles", headers=bob, params={"q": "imprimante"})).json()
    assert listed[0]["solved"] == 1


async def test_suggestions_for_intake_count_once_per_ticket(
    fresh_client: tuple[httpx.AsyncClient, EventStore], auth
) -> None:
    client, _ = fresh_client
    bob, intake = auth("bob", "agent", **BOB), auth("intake", "service")
    scenario = await published(client, bob, article("printers"))
    ticket_id = str(uuid.uuid4())
    body = {"text": "Mon imprimante réseau ne répond plus", "ticket_id": ticket_id}
    for _ in range(2):
        hits = await client.post("/v1/articles/suggestions", headers=intake, json=body)
        assert [a["id"] for a in hits.json()] == [scenario]
    assert (await client.get(f"/v1/articles/{scenario}", headers=bob)).json()["suggested"] == 1


async def test_the_index_is_rebuilt_from_the_streams(
    fresh_client: tuple[httpx.AsyncClient, EventStore], auth
) -> None:
    client, store = fresh_client
    bob = auth("bob", "agent", **BOB)
    scenario = await published(client, bob, article("printers"))
    async with store.engine.begin() as conn:
        await conn.execute(text("DELETE FROM ticket.articles"))
    assert (await client.get("/v1/articles", headers=bob)).json() == []
    app = client._transport.app  # type: ignore[attr-defined]
    assert await app.state.article_service.rebuild_index() == 1
    again = (await client.get("/v1/articles", headers=bob, params={"q": "imprimantes"})).json()
    assert [a["id"] for a in again] == [scenario]
    assert again[0]["status"] == "published"


async def test_an_excluded_word_excludes(client: httpx.AsyncClient, auth) -> None:
    bob = auth("bob", "agent", **BOB)
    category = f"kb-not-{uuid.uuid4().hex[:8]}"
    printers = await published(client, bob, article(category))
    await published(client, bob, article(category, title="Scanner en réseau", symptom="Scanner"))
    params = {"q": "réseau -scanner", "category": category}
    found = (await client.get("/v1/articles", headers=bob, params=params)).json()
    assert [a["id"] for a in found] == [printers]


async def test_a_resolution_counted_after_retirement_is_dropped_not_failed(
    client: httpx.AsyncClient, auth
) -> None:
    bob = auth("bob", "agent", **BOB)
    scenario = await published(client, bob, article("kb-retired"))
    await client.post(f"/v1/articles/{scenario}/retire", headers=bob)
    app = client._transport.app  # type: ignore[attr-defined]
    svc = app.state.article_service
    principal = Principal(sub="bob", roles=frozenset({Role.AGENT}))
    assert await svc.record_resolution(principal, uuid.UUID(scenario), uuid.uuid4()) is False
    assert (await client.get(f"/v1/articles/{scenario}", headers=bob)).json()["solved"] == 0
