import uuid

import httpx


async def test_problem_lifecycle_over_http(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    # Incidents of nina's group: an agent links only the tickets it may read, and is shown them
    # once the ticket list has them (it shows a problem's incidents after that list).
    first, second = await open_ticket(group="network"), await open_ticket(group="network")
    await caught_up()
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


async def test_a_creation_key_is_the_callers_own(client: httpx.AsyncClient, auth) -> None:
    """Two people's clients picking the same key each create their problem."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"title": "Messagerie lente", "description": "lenteurs"}
    nina = await client.post(
        "/v1/problems", headers={**auth("nina", "agent", level=2), **key}, json=body
    )
    omar = await client.post(
        "/v1/problems", headers={**auth("omar", "agent", level=2), **key}, json=body
    )
    assert nina.status_code == omar.status_code == 201
    assert nina.json()["id"] != omar.json()["id"]


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


async def test_a_problem_shows_each_agent_only_the_incidents_it_reads(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    """The list, the detail, the `ticket_id` filter and the commands' answers agree: incidents
    filtered by the ticket list's projection (the current group decides); the problem itself is
    shown to every agent, even with none of its incidents readable."""
    on_desk, on_network = await open_ticket(group="desk"), await open_ticket(group="network")
    paul = f"paul-{uuid.uuid4().hex[:8]}"  # of its own, not to show other tests' agent a ticket
    pauls_own = await open_ticket(requester=paul, group="desk")
    await caught_up()
    manager = auth("max", "manager")
    desk = auth("bob", "agent", groups=["desk"], level=1)
    nina = auth("nina", "agent", groups=["network"], level=2)
    n2 = auth(paul, "agent", groups=["n2-poste"], level=2)
    everything = [str(on_desk), str(on_network), str(pauls_own)]
    body = {"title": "Coupures", "description": "plusieurs sites", "incidents": everything}
    mixed = (await client.post("/v1/problems", headers=manager, json=body)).json()["id"]
    body = {"title": "Écrans noirs", "description": "accueil", "incidents": [str(on_desk)]}
    desks = (await client.post("/v1/problems", headers=desk, json=body)).json()["id"]

    async def incidents(headers: dict[str, str], **params: str) -> dict[str, list[str]]:
        """Each listed problem's incidents, after the list; the detail must agree."""
        listed = await client.get("/v1/problems", headers=headers, params={"limit": 200, **params})
        assert listed.status_code == 200, listed.text
        shown = {p["id"]: p["incidents"] for p in listed.json() if p["id"] in {mixed, desks}}
        for problem_id, ids in shown.items():
            detail = await client.get(f"/v1/problems/{problem_id}", headers=headers)
            assert detail.json()["incidents"] == ids, (problem_id, detail.text)
        return shown

    for reader in (desk, manager):
        assert await incidents(reader) == {mixed: everything, desks: [str(on_desk)]}
    assert await incidents(nina) == {mixed: [str(on_network)], desks: []}
    assert await incidents(n2) == {mixed: [str(pauls_own)], desks: []}  # its own ticket
    assert await incidents(nina, ticket_id=str(on_desk)) == {}  # unknown, as its own routes say
    assert await incidents(nina, ticket_id=str(on_network)) == {mixed: [str(on_network)]}
    assert await incidents(desk, ticket_id=str(on_desk)) == {
        mixed: everything,
        desks: [str(on_desk)],
    }
    worked = await client.post(
        f"/v1/problems/{mixed}/workaround", headers=nina, json={"workaround": "redémarrer"}
    )
    assert worked.status_code == 200, worked.text
    assert worked.json()["incidents"] == [str(on_network)]

    routed = await client.post(
        f"/v1/tickets/{on_desk}/route",
        headers=manager,
        json={"to_group": "network", "reason": "lien réseau"},
    )
    assert routed.status_code == 200, routed.text
    await caught_up()
    assert await incidents(nina) == {mixed: [str(on_desk), str(on_network)], desks: [str(on_desk)]}
