"""`GET /v1/events` on the ticket service, against the real event store: the published log as
CloudEvents batches, paged by `sequence`, for the `service` role only."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from itertools import pairwise

import httpx
from cloudevents.core.formats.json import JSONFormat

from helpdesk_shared.events.ticket import Routed
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.messaging.envelope import ReceivedEvent, from_cloudevent
from helpdesk_testkit.broker import eventually

from .conftest import Auth, Opener

BATCH = "application/cloudevents-batch+json"


def _parse(response: httpx.Response) -> list[ReceivedEvent]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(BATCH)
    documents = json.loads(response.content)
    assert isinstance(documents, list)
    fmt = JSONFormat()
    return [from_cloudevent(fmt.read(None, json.dumps(d).encode())) for d in documents]


def _next(response: httpx.Response) -> str:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["link"])
    assert match is not None, response.headers["link"]
    after = httpx.URL(match.group(1)).params["after"]
    assert after == response.headers["helpdesk-next-after"]
    return after


async def _read_to_end(
    client: httpx.AsyncClient, headers: dict[str, str], after: str, **params: object
) -> tuple[list[ReceivedEvent], str, int]:
    """Every event after `after` by following the next links; the final cursor; pages read."""
    events: list[ReceivedEvent] = []
    pages = 0
    limit = int(str(params.pop("limit", 1000)))
    while True:
        query: dict[str, object] = {"after": after, "limit": limit, **params}
        response = await client.get("/v1/events", params=query, headers=headers)  # type: ignore[arg-type]
        page = _parse(response)
        pages += 1
        events += page
        previous, after = after, _next(response)
        assert not page or after > previous, "the next cursor must move past a page read"
        if len(page) < limit:
            return events, after, pages


async def _route(store: EventStore, ticket: uuid.UUID) -> None:
    event = Routed(
        ticket_id=ticket,
        occurred_at=datetime.now(UTC),
        from_group="desk",
        to_group="reseau",
        reason="Relève du réseau",
        by="agent-1",
    )
    await store.append(
        f"ticket-{ticket}", ExpectedVersion.ANY, [NewEvent.from_domain(event, EventMetadata())]
    )


async def test_the_log_is_paged_by_sequence_as_cloudevents(
    client: httpx.AsyncClient, auth: Auth, open_ticket: Opener, event_store: EventStore
) -> None:
    service = auth("notify-bridge", "service")
    _, start, _ = await _read_to_end(client, service, "")
    tickets = [await open_ticket() for _ in range(3)]
    for ticket in tickets:
        await _route(event_store, ticket)
    ours = {f"ticket-{t}" for t in tickets}
    seen: list[ReceivedEvent] = []
    pages_read = [0]

    async def all_six() -> bool:
        events, _, pages_read[0] = await _read_to_end(client, service, start, limit=2)
        seen[:] = [e for e in events if e.stream_id in ours]
        return len(seen) == 6

    await eventually(all_six, within=30, what="the six events in /v1/events")
    assert pages_read[0] >= 4  # two events a page: paged to the end, not answered at once
    sequences = [e.sequence for e in seen]
    assert all(a < b for a, b in pairwise(sequences)), sequences
    assert all(s > start for s in sequences)
    stored = {e.event_id: e for e in await event_store.read_all(None, 100_000)}
    for event in seen:
        recorded = stored[event.event_id]
        assert event.sequence == recorded.log_position.sequence
        assert (event.stream_id, event.version) == (recorded.stream_id, recorded.version)
        assert event.source == "helpdesk"
        assert event.to_domain() == recorded.to_domain()
    # From the cursor of the third: exactly what follows it.
    rest, _, _ = await _read_to_end(client, service, sequences[2])
    assert [e.event_id for e in rest if e.stream_id in ours] == [e.event_id for e in seen[3:]]
    # Filtered by type: only those, and the cursor still moves past the others.
    routed, end, _ = await _read_to_end(client, service, start, type="Routed")
    assert {e.type for e in routed} == {"Routed"}
    assert [e.event_id for e in routed if e.stream_id in ours] == [
        e.event_id for e in seen if e.type == "Routed"
    ]
    assert end >= sequences[-1]


async def test_only_services_read_the_log(client: httpx.AsyncClient, auth: Auth) -> None:
    anonymous = await client.get("/v1/events")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for roles in (("agent",), ("manager",), ("admin",), ("requester",)):
        refused = await client.get("/v1/events", headers=auth("someone", *roles))
        assert refused.status_code == 403, roles


async def test_a_bad_cursor_or_type_is_a_422_naming_the_field(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    service = auth("notify-bridge", "service")
    for after in ("12", "not-a-sequence", "00000000000000000001-1"):
        response = await client.get("/v1/events", params={"after": after}, headers=service)
        assert response.status_code == 422, after
        problem = response.json()
        assert [e["field"] for e in problem["errors"]] == ["after"]
        assert problem["errors"][0]["parameter"] == "after"
    response = await client.get(
        "/v1/events", params=[("type", "Routed"), ("type", "NoSuchEvent")], headers=service
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "type"
    assert "NoSuchEvent" in response.json()["errors"][0]["message"]
    response = await client.get("/v1/events", params={"limit": 0}, headers=service)
    assert response.status_code == 422
