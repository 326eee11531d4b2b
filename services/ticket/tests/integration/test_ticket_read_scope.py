"""Who reads which ticket, over HTTP on PostgreSQL (docs/contracts.md, auth claims): a requester its
own tickets, an agent those whose current group is one of its groups, the desk's agents and the
managers all of them. The detail, the history, the list (filtered in SQL, so cursors stay right)
and the daily follow-up agree."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

Headers = dict[str, str]


async def listed(client: httpx.AsyncClient, headers: Headers, **params: Any) -> list[str]:
    """Every id the caller is shown, page after page (small pages: the cursor is exercised)."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/tickets", headers=headers, params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) == 1 or body["next_cursor"] is None  # no short page mid-list
        ids += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def readable(client: httpx.AsyncClient, headers: Headers, ticket: object) -> bool:
    detail = await client.get(f"/v1/tickets/{ticket}", headers=headers)
    history = await client.get(f"/v1/tickets/{ticket}/history", headers=headers)
    assert detail.status_code == history.status_code, (detail.text, history.text)
    assert detail.status_code in {200, 404}, detail.text
    return detail.status_code == 200


async def test_an_agent_reads_its_groups_tickets_and_follows_a_routed_one(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    requester = f"carol-{uuid.uuid4().hex[:8]}"
    on_network = await open_ticket(requester=requester, group="network", level=2)
    on_desk = await open_ticket(requester=requester, group="desk")
    ours = [await open_ticket(requester=requester, group="n2-poste", level=2) for _ in range(2)]
    await caught_up()
    n2 = auth("paul", "agent", groups=["n2-poste"], level=2)

    assert not await readable(client, n2, on_network)
    assert not await readable(client, n2, on_desk)
    assert all([await readable(client, n2, t) for t in ours])
    mine = await listed(client, n2, requester=requester)
    assert sorted(mine) == sorted(str(t) for t in ours)
    assert await listed(client, n2, requester=requester, group="network") == []
    everything = (await client.get("/v1/tickets?limit=200", headers=n2)).json()["items"]
    assert {i["group"] for i in everything} == {"n2-poste"}
    refused = await client.post(f"/v1/tickets/{on_network}/comment", headers=n2, json={"text": "?"})
    assert refused.status_code == 404  # not revealed, as to another requester

    routed = await client.post(
        f"/v1/tickets/{on_network}/route",
        headers=auth("max", "manager"),
        json={"to_group": "n2-poste", "reason": "poste de travail"},
    )
    assert routed.status_code == 200, routed.text
    await caught_up()
    assert await readable(client, n2, on_network)
    assert str(on_network) in await listed(client, n2, requester=requester)
    network = auth("nina", "agent", groups=["network"], level=3)
    assert not await readable(client, network, on_network)  # the current group decides
    assert str(on_network) not in await listed(client, network, requester=requester)


async def test_the_desk_and_managers_read_every_ticket_requesters_their_own(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    requester = f"dora-{uuid.uuid4().hex[:8]}"
    tickets = [
        await open_ticket(requester=requester, group=group, level=2)
        for group in ("network", "n2-poste", "desk")
    ]
    await caught_up()
    expected = sorted(str(t) for t in tickets)
    for reader in (
        auth("bob", "agent", groups=["desk"], level=1),
        auth("max", "manager"),
        auth("root", "admin"),
        auth("metrics", "service"),
        auth(requester, "requester"),
    ):
        assert all([await readable(client, reader, t) for t in tickets])
        assert sorted(await listed(client, reader, requester=requester)) == expected
    other = auth("erwan", "requester")
    assert not any([await readable(client, other, t) for t in tickets])
    assert await listed(client, other, requester=requester) == []


async def test_an_agent_reads_its_own_ticket_outside_its_groups(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    agent = f"paul-{uuid.uuid4().hex[:8]}"
    own = await open_ticket(requester=agent, group="network")
    await caught_up()
    headers = auth(agent, "agent", groups=["n2-poste"], level=2)
    assert await readable(client, headers, own)
    assert await listed(client, headers, requester=agent) == [str(own)]


async def test_the_follow_up_shows_an_agent_its_groups_tickets_only(
    client: httpx.AsyncClient, auth, open_ticket, caught_up
) -> None:
    network = await open_ticket(group="network", level=2)
    ours = await open_ticket(group="n2-poste", level=2)
    await caught_up()
    params = {"idle_hours": 720, "due_within_hours": 720}  # every open ticket with a deadline
    n2 = await client.get(
        "/v1/tickets/follow-up",
        headers=auth("paul", "agent", groups=["n2-poste"], level=2),
        params=params,
    )
    seen = {i["id"]: i["group"] for i in n2.json()}
    assert str(ours) in seen
    assert str(network) not in seen
    assert set(seen.values()) == {"n2-poste"}
    desk = await client.get(
        "/v1/tickets/follow-up",
        headers=auth("bob", "agent", groups=["desk"], level=1),
        params=params,
    )
    assert {str(network), str(ours)} <= {i["id"] for i in desk.json()}


async def test_a_problem_links_only_incidents_its_author_may_read(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    """A problem copies its incidents' references: linking another group's ticket would show
    it. The ticket is unknown to that agent, as on its own routes."""
    elsewhere = await open_ticket(group="network")
    n2 = auth("paul", "agent", groups=["n2-poste"], level=2)
    body = {"title": "x", "description": "y", "incidents": [str(elsewhere)]}
    refused = await client.post("/v1/problems", headers=n2, json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "ticket_id"
    assert "DSI-" not in refused.text
    desk = auth("bob", "agent", groups=["desk"], level=1)
    assert (await client.post("/v1/problems", headers=desk, json=body)).status_code == 201
