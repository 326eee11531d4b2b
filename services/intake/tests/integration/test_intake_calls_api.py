"""`POST /v1/calls`: each call from telephony becomes one `CallRecorded` in its own stream."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from helpdesk_intake.domain.calls import CallReport, call_uuid
from helpdesk_shared.events.intake import CallRecorded
from helpdesk_shared.eventstore.store import EventStore

TELEPHONY = ("pbx", "service")


def call(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "call_id": f"pbx-{uuid.uuid4()}",
        "offered_at": "2026-03-02T09:00:00+01:00",
        "answered_at": "2026-03-02T09:00:12+01:00",
        "ended_at": "2026-03-02T09:04:00+01:00",
        "agent": "agent.dupont",
        "caller": "+33 4 91 00 00 00",
    }
    return body | extra


async def test_answered_call_is_recorded_with_its_wait(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    ticket_id = str(uuid.uuid4())
    response = await intake_client.post(
        "/v1/calls", json=call(ticket_id=ticket_id), headers=auth(*TELEPHONY)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    stored = await event_store.read_stream(f"call-{body['call_id']}")
    event = stored[0].to_domain()
    assert isinstance(event, CallRecorded)
    assert (event.outcome.value, event.wait_seconds, event.agent) == (
        "answered",
        12,
        "agent.dupont",
    )
    assert str(event.ticket_id) == ticket_id
    shown = await intake_client.get(response.headers["location"], headers=auth("a", "agent"))
    assert shown.json()["call_id"] == body["call_id"]


async def test_abandoned_call_is_recorded(intake_client: httpx.AsyncClient, auth: Any) -> None:
    abandoned = call(answered_at=None, agent=None, abandoned_at="2026-03-02T09:00:45+01:00")
    response = await intake_client.post("/v1/calls", json=abandoned, headers=auth(*TELEPHONY))
    assert response.status_code == 201, response.text
    assert (response.json()["outcome"], response.json()["wait_seconds"]) == ("abandoned", 45)


async def test_the_same_call_reported_twice_is_recorded_once(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    report = call()
    first = await intake_client.post("/v1/calls", json=report, headers=auth(*TELEPHONY))
    again = await intake_client.post("/v1/calls", json=report, headers=auth(*TELEPHONY))
    assert (first.status_code, again.status_code) == (201, 200)
    assert len(await event_store.read_stream(f"call-{first.json()['call_id']}")) == 1
    changed = await intake_client.post(
        "/v1/calls", json=report | {"agent": "agent.autre"}, headers=auth(*TELEPHONY)
    )
    assert changed.status_code == 409


async def test_contradictory_calls_are_refused_with_the_field(
    intake_client: httpx.AsyncClient, auth: Any
) -> None:
    both = call(abandoned_at="2026-03-02T09:00:45+01:00")
    response = await intake_client.post("/v1/calls", json=both, headers=auth(*TELEPHONY))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "answered_at"
    backwards = call(answered_at="2026-03-02T08:59:00+01:00")
    response = await intake_client.post("/v1/calls", json=backwards, headers=auth(*TELEPHONY))
    assert response.json()["errors"][0]["field"] == "answered_at"
    naive = call(offered_at="2026-03-02T09:00:00")
    response = await intake_client.post("/v1/calls", json=naive, headers=auth(*TELEPHONY))
    assert response.json()["errors"][0]["field"] == "offered_at"
    requester = await intake_client.post("/v1/calls", json=call(), headers=auth("x", "requester"))
    assert requester.status_code == 403


async def test_a_call_retried_with_its_key_gets_the_first_answer(
    intake_client: httpx.AsyncClient, auth: Any, event_store: EventStore
) -> None:
    """A client retrying after a lost answer (or a 503) gets the first 201 again, `Location`
    included, and nothing more is recorded; the key with another report is refused."""
    report = call()
    keyed = {**auth(*TELEPHONY), "Idempotency-Key": f"call-{uuid.uuid4()}"}
    first = await intake_client.post("/v1/calls", json=report, headers=keyed)
    retry = await intake_client.post("/v1/calls", json=report, headers=keyed)
    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(await event_store.read_stream(f"call-{first.json()['call_id']}")) == 1

    another = call()
    other = await intake_client.post("/v1/calls", json=another, headers=keyed)
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "urn:helpdesk:problem:idempotency-key-reused"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    stream = f"call-{call_uuid(CallReport.model_validate(another))}"
    assert await event_store.read_stream(stream) == []  # the other report was not recorded

    unkeyed = await intake_client.post("/v1/calls", json=report, headers=auth(*TELEPHONY))
    assert unkeyed.status_code == 200  # without the key: a repeat of the call, as before


def test_the_calls_route_declares_the_key(intake_client: httpx.AsyncClient) -> None:
    app = intake_client._transport.app  # type: ignore[attr-defined]
    operation = app.openapi()["paths"]["/v1/calls"]["post"]
    names = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert "Idempotency-Key" in names
