"""`POST /v1/requests` against the real database: the ticket is opened in the event store."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.domain.demo_contracts import CONTRACT_1, CONTRACT_2
from helpdesk_intake.settings import Settings
from helpdesk_shared.events.ticket import TicketOpened
from helpdesk_shared.eventstore.store import EventStore

AGENT = ("agent.dupont", "agent")


def form(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "incident",
        "channel": "phone",
        "subject": "Impossible d'imprimer",
        "description": "L'imprimante du bureau B-104 ne répond plus.",
        "requester": {"login": "demo.alpha"},
        "category": "printers",
    }
    return body | extra


async def opened_event(store: EventStore, ticket_id: str) -> TicketOpened:
    events = await store.read_stream(f"ticket-{ticket_id}")
    assert [e.type for e in events] == ["TicketOpened"]
    event = events[0].to_domain()
    assert isinstance(event, TicketOpened)
    return event


async def test_agent_opens_a_ticket_for_the_caller(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore, engine: AsyncEngine
) -> None:
    response = await intake_client.post("/v1/requests", json=form(), headers=auth(*AGENT))
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"INC-\d{4}-\d{6}", body["reference"])
    assert body["admissible"] is True
    assert [r["rule"] for r in body["reasons"]] == ["in_scope"]
    assert response.headers["location"] == f"/v1/tickets/{body['ticket_id']}"
    event = await opened_event(event_store, body["ticket_id"])
    assert event.reference == body["reference"]
    async with engine.connect() as conn:
        query = text("SELECT reference FROM intake.tickets WHERE ticket_id = :id")
        indexed = (await conn.execute(query, {"id": uuid.UUID(body["ticket_id"])})).scalar_one()
    assert indexed == event.reference  # numbered, indexed and appended by one statement
    assert event.channel.value == "phone"
    assert event.requester.login == "demo.alpha"
    assert event.requester.organisation == "Entreprise Alpha"
    assert event.subject == "Impossible d'imprimer"
    assert event.category == "printers"
    assert event.pre_qualification.outcome.value == "admissible"
    assert (event.group, event.level, event.opened_by) == ("desk", 1, "agent.dupont")


async def test_retry_with_the_same_idempotency_key_returns_the_same_ticket(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    headers = auth(*AGENT) | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await intake_client.post("/v1/requests", json=form(), headers=headers)
    again = await intake_client.post("/v1/requests", json=form(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    async with engine.connect() as conn:
        count = await conn.execute(
            text("SELECT count(*) FROM intake.tickets WHERE reference = :r"),
            {"r": first.json()["reference"]},
        )
    assert count.scalar_one() == 1
    other = await intake_client.post(
        "/v1/requests", json=form(subject="Autre chose"), headers=headers
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_concurrent_retries_open_one_ticket(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    headers = auth(*AGENT) | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    responses = await asyncio.gather(
        *(intake_client.post("/v1/requests", json=form(), headers=headers) for _ in range(4))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["ticket_id"] for r in responses}) == 1


async def test_references_are_sequential_per_type(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    numbers = []
    for _ in range(2):
        response = await intake_client.post(
            "/v1/requests", json=form(type="service_request"), headers=auth(*AGENT)
        )
        reference = response.json()["reference"]
        assert reference.startswith("DEM-")
        numbers.append(int(reference.rsplit("-", 1)[1]))
    assert numbers[1] == numbers[0] + 1


async def test_a_requester_opens_in_its_own_name_only(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    own = form(channel="web", requester=None)
    response = await intake_client.post(
        "/v1/requests", json=own, headers=auth("demo.beta", "requester")
    )
    assert response.status_code == 201, response.text
    event = await opened_event(event_store, response.json()["ticket_id"])
    assert (event.requester.login, event.opened_by) == ("demo.beta", "demo.beta")
    claims_a_contract = form(channel="web", requester={"organisation": "Entreprise Alpha"})
    response = await intake_client.post(
        "/v1/requests", json=claims_a_contract, headers=auth("demo.beta", "requester")
    )
    event = await opened_event(event_store, response.json()["ticket_id"])
    assert event.requester.organisation == "Entreprise Bêta"  # only staff change it
    for_someone_else = form(channel="web", requester={"login": "demo.alpha"})
    refused = await intake_client.post(
        "/v1/requests", json=for_someone_else, headers=auth("demo.beta", "requester")
    )
    assert refused.status_code == 403


async def test_unknown_caller_is_created_and_marked_for_verification(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    login = f"inconnu.{uuid.uuid4().hex[:8]}"
    caller = {"login": login, "name": "Paul Inconnu", "organisation": "Entreprise Alpha"}
    response = await intake_client.post(
        "/v1/requests", json=form(requester=caller), headers=auth(*AGENT)
    )
    assert response.status_code == 201, response.text
    requester = response.json()["requester"]
    assert requester["created"] is True
    assert requester["needs_verification"] is True
    entry = await intake_client.get(f"/v1/requesters/{requester['id']}", headers=auth(*AGENT))
    assert entry.json()["needs_verification"] is True
    assert entry.json()["name"] == "Paul Inconnu"


async def test_corrections_at_the_contact_are_logged(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    office = f"C-{uuid.uuid4().hex[:4]}"
    caller = {"login": "demo.gamma", "office": office}
    response = await intake_client.post(
        "/v1/requests", json=form(requester=caller), headers=auth(*AGENT)
    )
    requester_id = response.json()["requester"]["id"]
    changes = await intake_client.get(
        f"/v1/requesters/{requester_id}/changes", headers=auth(*AGENT)
    )
    last = changes.json()[-1]
    assert last["changed_by"] == "agent.dupont"
    assert last["channel"] == "phone"
    assert last["changes"]["office"]["to"] == office


async def test_out_of_scope_and_routed_requests_are_still_recorded(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    out = await intake_client.post(
        "/v1/requests", json=form(category="hardware_maintenance"), headers=auth(*AGENT)
    )
    assert out.status_code == 201
    assert out.json()["admissible"] is False
    assert out.json()["reasons"][0]["rule"] == "domain_not_in_scope"
    routed = await intake_client.post(
        "/v1/requests", json=form(category="servers"), headers=auth(*AGENT)
    )
    event = await opened_event(event_store, routed.json()["ticket_id"])
    assert event.pre_qualification.outcome.value == "to_route"
    assert (event.pre_qualification.routed_domain, event.group) == ("servers", "servers")


async def test_a_laser_printer_bought_after_signature_is_recorded_out_of_scope(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    response = await intake_client.post(
        "/v1/requests",
        json=form(asset_tag="LASER-A-002", received_at="2026-09-01T09:00:00+02:00"),
        headers=auth(*AGENT),
    )
    assert response.status_code == 201
    assert [r["rule"] for r in response.json()["reasons"]] == ["asset_acquired_after_contract"]


async def test_invalid_forms_name_the_field(intake_client: httpx.AsyncClient, auth: Any) -> None:
    missing = form()
    del missing["subject"]
    response = await intake_client.post("/v1/requests", json=missing, headers=auth(*AGENT))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "subject"
    nobody = await intake_client.post(
        "/v1/requests", json=form(requester=None), headers=auth(*AGENT)
    )
    assert nobody.status_code == 422
    assert nobody.json()["errors"][0]["field"] == "requester"
    blank = await intake_client.post("/v1/requests", json=form(subject="   "), headers=auth(*AGENT))
    assert blank.json()["errors"][0]["field"] == "subject"
    backdated = form(channel="web", requester=None, received_at="2026-01-01T08:00:00+01:00")
    own = await intake_client.post("/v1/requests", json=backdated, headers=auth("x", "requester"))
    assert own.json()["errors"][0]["field"] == "received_at"
    anonymous = await intake_client.post("/v1/requests", json=form())
    assert anonymous.status_code == 401


async def test_oversized_form_is_refused_with_413(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    big = form(description="x" * (70 * 1024))
    response = await intake_client.post("/v1/requests", json=big, headers=auth(*AGENT))
    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_chunked_oversized_body_is_refused_with_413(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    async def chunks() -> Any:
        for _ in range(80):
            yield b"x" * 1024

    headers = auth(*AGENT) | {"content-type": "application/json"}
    response = await intake_client.post("/v1/requests", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_a_dry_run_prequalifies_without_recording(
    intake_client: httpx.AsyncClient, auth: Any, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM intake.tickets"))).scalar_one()
    query = {"requester": {"login": "demo.alpha"}, "request": {"domain": "servers"}}
    response = await intake_client.post("/v1/prequalification", json=query, headers=auth(*AGENT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["admissible"], body["group"], body["requester_known"]) == (False, "servers", True)
    assert body["pre_qualification"]["outcome"] == "to_route"
    own = await intake_client.post(
        "/v1/prequalification",
        json={"request": {"domain": "printers"}},
        headers=auth("demo.beta", "requester"),
    )
    assert own.json()["admissible"] is True
    async with engine.connect() as conn:
        after = (await conn.execute(text("SELECT count(*) FROM intake.tickets"))).scalar_one()
    assert after == before


async def test_concurrent_openings_get_consecutive_references(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    responses = await asyncio.gather(
        *(intake_client.post("/v1/requests", json=form(), headers=auth(*AGENT)) for _ in range(8))
    )
    numbers = sorted(int(r.json()["reference"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(numbers[0], numbers[0] + 8))


async def test_the_contract_check_follows_the_organisation_corrected_at_this_contact(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    """The entry is read with its organisation's contracts; a correction re-reads them. (The
    entry is in the directory: a caller unknown to it would be `to_verify` whatever it says.)"""
    login = f"mutation.{uuid.uuid4().hex[:8]}"
    office = {"category": "office_software"}
    entry = {"login": login, "name": "Anne Mutée", "organisation": "Entreprise Gamma"}
    created = await intake_client.post("/v1/requesters", json=entry, headers=auth(*AGENT))
    assert created.status_code == 201, created.text

    async def open_for(**requester: str) -> dict[str, Any]:
        body = form(requester={"login": login, **requester}, **office)
        response = await intake_client.post("/v1/requests", json=body, headers=auth(*AGENT))
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    first = await open_for(name="Anne Mutée", organisation="Entreprise Alpha")
    assert (first["outcome"], first["contract_id"]) == ("admissible", str(CONTRACT_1.id))
    moved = await open_for(organisation="Entreprise Bêta")
    assert (moved["outcome"], moved["contract_id"]) == ("to_route", str(CONTRACT_2.id))
    again = await open_for()
    assert (again["outcome"], again["contract_id"]) == ("to_route", str(CONTRACT_2.id))


async def test_the_references_year_is_the_desks_year_at_new_year(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    """The year of a reference is the desk's (Europe/Paris): on 31 December at 23:30 UTC it is
    already 00:30 on 1 January in Paris, so the ticket numbers in the new year; an hour earlier
    (23:30 in Paris) it is still the old one. The last New Year before today: `received_at`
    may not be in the future."""
    new_year = datetime.now(UTC).year
    eve = datetime(new_year - 1, 12, 31, tzinfo=UTC)
    late = await intake_client.post(
        "/v1/requests",
        json=form(received_at=(eve + timedelta(hours=23, minutes=30)).isoformat()),
        headers=auth(*AGENT),
    )
    early = await intake_client.post(
        "/v1/requests",
        json=form(received_at=(eve + timedelta(hours=22, minutes=30)).isoformat()),
        headers=auth(*AGENT),
    )
    assert late.status_code == early.status_code == 201, (late.text, early.text)
    assert late.json()["reference"].startswith(f"INC-{new_year}-")
    assert early.json()["reference"].startswith(f"INC-{new_year - 1}-")
    stored = await opened_event(event_store, late.json()["ticket_id"])
    assert stored.reference == late.json()["reference"]


async def test_openings_beyond_the_slots_wait_before_their_transaction(
    intake_settings: Settings, engine: AsyncEngine, auth: Any
) -> None:
    """With every opening slot taken, an opening waits (holding no connection, no lock) and
    goes through once a slot is free."""
    app = build_app(intake_settings.model_copy(update={"intake_openings_in_flight": 1}), engine)
    slots = app.state.opening_slots
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        await slots.acquire()
        opening = asyncio.ensure_future(
            client.post("/v1/requests", json=form(), headers=auth(*AGENT))
        )
        try:
            await asyncio.sleep(0.3)
            assert not opening.done()
        finally:
            slots.release()
        response = await asyncio.wait_for(opening, 30)
    assert response.status_code == 201, response.text
