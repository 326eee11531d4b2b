from datetime import UTC, datetime

import httpx

AGENT_N1 = {"groups": ["desk"], "level": 1}


async def test_full_lifecycle_over_http(client: httpx.AsyncClient, auth, open_ticket) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", **AGENT_N1)
    base = f"/v1/tickets/{ticket_id}"

    got = await client.get(base, headers=bob)
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    assert got.json()["status"] == "opened"
    assert "qualify" in got.json()["allowed_commands"]

    qualified = await client.post(
        f"{base}/qualify",
        headers={**bob, "If-Match": '"1"'},
        json={"type": "incident", "category": "printers", "impact": "high", "urgency": "high"},
    )
    assert qualified.status_code == 200, qualified.text
    assert qualified.json()["priority"] == "P1"
    assert qualified.json()["suggested_group"] is None  # printers: the desk's own domain
    assert qualified.headers["etag"] == '"2"'

    taken = await client.post(f"{base}/take", headers=bob)
    assert taken.json()["status"] == "in_progress"
    assert taken.json()["taken_by"] == "bob"

    escalated = await client.post(f"{base}/escalate", headers=bob, json={"reason": "needs N2"})
    assert escalated.json()["level"] == 2

    carol = auth("carol", "agent", groups=["desk"], level=2)
    routed = await client.post(
        f"{base}/route", headers=carol, json={"to_group": "servers", "reason": "server down"}
    )
    assert routed.status_code == 200, routed.text
    assert routed.json()["group"] == "servers"

    dave = auth("dave", "agent", groups=["servers"], level=2)
    resolved = await client.post(
        f"{base}/resolve", headers=dave, json={"solution": "rebooted", "resolution_code": "fix"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolution"]["first_contact"] is False

    closed = await client.post(f"{base}/close", headers=dave)
    assert closed.json()["status"] == "closed"

    alice = auth("alice", "requester")
    rated = await client.post(f"{base}/rate", headers=alice, json={"score": 5})
    assert rated.status_code == 200, rated.text
    assert rated.json()["satisfaction"] == 5

    history = await client.get(f"{base}/history", headers=bob)
    types = [e["type"] for e in history.json()]
    assert types == [
        "TicketOpened",
        "TicketQualified",
        "TicketTaken",
        "Escalated",
        "Routed",
        "TicketTaken",
        "TicketResolved",
        "Closed",
        "SatisfactionRated",
    ]
    assert history.json()[4]["summary"].startswith("Routé de desk vers servers")


async def test_as_of_shows_the_past_state(client: httpx.AsyncClient, auth, open_ticket) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", **AGENT_N1)
    before = datetime.now(UTC)
    await client.post(f"/v1/tickets/{ticket_id}/take", headers=bob)
    past = await client.get(
        f"/v1/tickets/{ticket_id}", headers=bob, params={"as_of": before.isoformat()}
    )
    assert past.json()["status"] == "opened"
    assert past.headers["etag"] == '"1"'


async def test_refused_transition_says_what_is_allowed(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", **AGENT_N1)
    answer = await client.post(f"/v1/tickets/{ticket_id}/resume", headers=bob)
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert "take" in answer.json()["allowed"]
    assert "resume" not in answer.json()["allowed"]


async def test_stale_if_match_is_412(client: httpx.AsyncClient, auth, open_ticket) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", **AGENT_N1)
    await client.post(f"/v1/tickets/{ticket_id}/take", headers=bob)
    answer = await client.post(
        f"/v1/tickets/{ticket_id}/comment",
        headers={**bob, "If-Match": '"1"'},
        json={"text": "hello"},
    )
    assert answer.status_code == 412
    assert answer.headers["etag"] == '"2"'


async def test_invalid_fields_are_422_with_the_field(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", **AGENT_N1)
    unknown = await client.post(
        f"/v1/tickets/{ticket_id}/qualify",
        headers=bob,
        json={"type": "incident", "category": "coffee", "impact": "low", "urgency": "low"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "category"
    missing = await client.post(f"/v1/tickets/{ticket_id}/route", headers=bob, json={})
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"to_group", "reason"}


async def test_unknown_ticket_is_404(client: httpx.AsyncClient, auth) -> None:
    bob = auth("bob", "agent", **AGENT_N1)
    answer = await client.get("/v1/tickets/00000000-0000-0000-0000-000000000000", headers=bob)
    assert answer.status_code == 404


async def test_openapi_documents_every_command(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    for name in (
        "qualify",
        "assign",
        "take",
        "escalate",
        "route",
        "comment",
        "hold",
        "resume",
        "record-consent",
        "schedule",
        "resolve",
        "close",
        "reopen",
        "rate",
    ):
        assert f"/v1/tickets/{{ticket_id}}/{name}" in paths
    assert {"/v1/tickets", "/v1/tickets/follow-up", "/v1/problems"} <= paths
