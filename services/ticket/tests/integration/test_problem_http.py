import uuid

import httpx


async def test_problem_lifecycle_over_http(client: httpx.AsyncClient, auth, open_ticket) -> None:
    # Incidents of nina's group: an agent links only the tickets it may read.
    first, second = await open_ticket(group="network"), await open_ticket(group="network")
    nina = auth("nina", "agent", groups=["network"], level=2)
    created = await client.post(
        "/v1/problems",
        headers=nina,
        json={"title": "Switch du 2e étage", "description": "coupures", "incidents": [str(first)]},
    )
    assert created.status_code == 201, created.text
    problem = created.json()
    assert created.headers["location"] == f"/v1/problems/{problem['id']}"
    assert problem["incidents"] == [str(first)]
    base = f"/v1/problems/{problem['id']}"

    linked = await client.post(f"{base}/link", headers=nina, json={"ticket_id": str(second)})
    assert linked.json()["incidents"] == [str(first), str(second)]
    known = await client.post(
        f"{base}/workaround",
        headers={**nina, "If-Match": linked.headers["etag"]},
        json={"workaround": "redémarrer le switch", "known_error": True, "root_cause": "firmware"},
    )
    assert known.json()["status"] == "known_error"
    resolved = await client.post(f"{base}/resolve", headers=nina, json={"resolution": "firmware"})
    assert resolved.json()["status"] == "resolved"
    again = await client.post(f"{base}/link", headers=nina, json={"ticket_id": str(first)})
    assert again.status_code == 409
    assert again.json()["allowed"] == []

    causes = await client.get("/v1/problems", headers=nina, params={"ticket_id": str(second)})
    assert [c["id"] for c in causes.json()] == [problem["id"]]


async def test_create_honours_the_idempotency_key(client: httpx.AsyncClient, auth) -> None:
    nina = {
        **auth("nina", "agent", groups=["network"], level=2),
        "Idempotency-Key": str(uuid.uuid4()),
    }
    body = {"title": "Messagerie lente", "description": "lenteurs"}
    first = await client.post("/v1/problems", headers=nina, json=body)
    retry = await client.post("/v1/problems", headers=nina, json=body)
    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    reused = await client.post("/v1/problems", headers=nina, json={**body, "title": "autre"})
    assert reused.status_code == 422


async def test_problems_refuse_requesters_and_unknown_incidents(
    client: httpx.AsyncClient, auth
) -> None:
    body = {"title": "x", "description": "y"}
    assert (
        await client.post("/v1/problems", headers=auth("alice", "requester"), json=body)
    ).status_code == 403
    nina = auth("nina", "agent", groups=["network"], level=2)
    unknown = await client.post(
        "/v1/problems", headers=nina, json={**body, "incidents": [str(uuid.uuid4())]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "ticket_id"
    missing = await client.get(f"/v1/problems/{uuid.uuid4()}", headers=nina)
    assert missing.status_code == 404
