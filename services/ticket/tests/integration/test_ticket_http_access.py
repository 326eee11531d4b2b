import asyncio

import httpx

from helpdesk_shared.eventstore.store import EventStore


async def test_requesters_only_comment_reopen_rate_their_own(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket(requester="alice")
    base = f"/v1/tickets/{ticket_id}"
    alice = auth("alice", "requester")
    mallory = auth("mallory", "requester")

    assert (await client.get(base, headers=alice)).status_code == 200
    assert (await client.get(base, headers=mallory)).status_code == 404
    taken = await client.post(f"{base}/take", headers=alice)
    assert taken.status_code == 403
    assert taken.headers["content-type"] == "application/problem+json"
    assert (
        await client.post(f"{base}/comment", headers=mallory, json={"text": "x"})
    ).status_code == 404
    said = await client.post(f"{base}/comment", headers=alice, json={"text": "toujours en panne"})
    assert said.status_code == 200
    assert said.json()["allowed_commands"] == ["comment"]
    internal = await client.post(
        f"{base}/comment", headers=alice, json={"text": "x", "visibility": "internal"}
    )
    assert internal.status_code == 422


async def test_requesters_do_not_see_internal_comments(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket(requester="alice")
    bob = auth("bob", "agent", groups=["desk"], level=1)
    await client.post(
        f"/v1/tickets/{ticket_id}/comment",
        headers=bob,
        json={"text": "utilisateur difficile", "visibility": "internal"},
    )
    mine = await client.get(f"/v1/tickets/{ticket_id}/history", headers=auth("alice", "requester"))
    assert [e["type"] for e in mine.json()] == ["TicketOpened"]
    seen = await client.get(f"/v1/tickets/{ticket_id}", headers=auth("alice", "requester"))
    assert seen.json()["comments"] == 0
    theirs = await client.get(f"/v1/tickets/{ticket_id}/history", headers=bob)
    assert [e["type"] for e in theirs.json()] == ["TicketOpened", "CommentAdded"]


async def test_agents_act_on_their_groups_and_levels_managers_on_all(
    client: httpx.AsyncClient, auth, open_ticket
) -> None:
    ticket_id = await open_ticket(group="network", level=2)
    base = f"/v1/tickets/{ticket_id}/take"
    assert (
        await client.post(base, headers=auth("bob", "agent", groups=["desk"], level=3))
    ).status_code == 403
    assert (
        await client.post(base, headers=auth("nina", "agent", groups=["network"], level=1))
    ).status_code == 403
    assert (await client.post(base, headers=auth("max", "manager"))).status_code == 200


async def test_no_token_is_401(client: httpx.AsyncClient, open_ticket) -> None:
    ticket_id = await open_ticket()
    assert (await client.get(f"/v1/tickets/{ticket_id}")).status_code == 401


def _lost_race(answer: httpx.Response) -> bool:
    """A loser of an `If-Match` race: 412 naming the version that won, or 409 from the append."""
    if answer.headers.get("content-type") != "application/problem+json":
        return False
    body = answer.json()
    if answer.status_code == 412:
        return answer.headers["etag"] == '"2"' and body["current_version"] == 2
    return answer.status_code == 409 and body["type"] == "urn:helpdesk:problem:concurrency-conflict"


async def test_concurrent_commands_never_overwrite(
    client: httpx.AsyncClient, auth, open_ticket, event_store: EventStore
) -> None:
    ticket_id = await open_ticket()
    bob = {**auth("bob", "agent", groups=["desk"], level=1), "If-Match": '"1"'}
    answers = await asyncio.gather(
        *(
            client.post(f"/v1/tickets/{ticket_id}/comment", headers=bob, json={"text": f"n°{i}"})
            for i in range(5)
        )
    )
    winners = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert len(winners) == 1, [a.text for a in answers]
    losers = [a for a in answers if a.status_code != 200]
    assert all(_lost_race(a) for a in losers), [(a.status_code, a.text) for a in losers]
    assert answers[winners[0]].headers["etag"] == '"2"'
    assert await event_store.stream_version(f"ticket-{ticket_id}") == 2
    history = (await client.get(f"/v1/tickets/{ticket_id}/history", headers=bob)).json()
    assert [e["type"] for e in history] == ["TicketOpened", "CommentAdded"]
    assert history[1]["data"]["text"] == f"n°{winners[0]}"


async def test_stale_if_match_appends_nothing(
    client: httpx.AsyncClient, auth, open_ticket, event_store: EventStore
) -> None:
    ticket_id = await open_ticket()
    base = f"/v1/tickets/{ticket_id}"
    bob = auth("bob", "agent", groups=["desk"], level=1)
    first = await client.post(
        f"{base}/comment", headers={**bob, "If-Match": '"1"'}, json={"text": "premier"}
    )
    assert first.status_code == 200
    before = (await client.get(f"{base}/history", headers=bob)).json()
    stale = await client.post(
        f"{base}/comment", headers={**bob, "If-Match": '"1"'}, json={"text": "périmé"}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert await event_store.stream_version(f"ticket-{ticket_id}") == 2
    assert (await client.get(f"{base}/history", headers=bob)).json() == before


async def test_without_if_match_concurrent_commands_all_land(
    client: httpx.AsyncClient, auth, open_ticket, event_store: EventStore
) -> None:
    ticket_id = await open_ticket()
    bob = auth("bob", "agent", groups=["desk"], level=1)
    answers = await asyncio.gather(
        *(
            client.post(f"/v1/tickets/{ticket_id}/comment", headers=bob, json={"text": f"n°{i}"})
            for i in range(3)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    final = await client.get(f"/v1/tickets/{ticket_id}", headers=bob)
    assert final.json()["comments"] == 3
    assert await event_store.stream_version(f"ticket-{ticket_id}") == 4
    history = (await client.get(f"/v1/tickets/{ticket_id}/history", headers=bob)).json()
    assert sorted(e["data"]["text"] for e in history[1:]) == ["n°0", "n°1", "n°2"]
