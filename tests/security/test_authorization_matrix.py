"""Every route of every service (read from its OpenAPI, so a new route is covered at once) x every
kind of caller. Refused tokens (none, expired, forged, `alg: none`, tampered, garbage) get 401 on
every protected route; no caller ever gets a 5xx; another requester never reads or changes the
requester's ticket, through its own routes, lists, history, search, notifications or KPIs.

Reading (docs/contracts.md, auth claims): an agent reads the tickets of its groups, the single
desk's agents and the managers read them all. The ticket is the desk's, so the agent of another
group (`network`) finds nothing of it in the ticket service while the desk's agent, the manager
and the service read it."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk_shared.eventstore.store import EventStore

#: Routes anyone may call (docs/contracts.md: `/metrics`, `/healthz` and `/readyz` need no token).
PUBLIC = {"/healthz", "/readyz", "/metrics"}
#: Routes naming the requester's own resources (filled in by `World.url`).
OWNED = ("{ticket_id}", "{requester_id}", "{notification_id}")
#: Callers who read the desk's ticket: its requester, the desk's agent, a manager, a service.
READERS = ("requester", "agent", "manager", "service")
#: Articles are the staff's shared knowledge, not ticket data: a draft the desk made from the
#: ticket (the world drafts one by `POST .../draft-article`) carries its subject to every agent.
SHARED_KNOWLEDGE = "/v1/articles"
#: The ticket's reads (detail and history).
TICKET_READS = {"/v1/tickets/{ticket_id}", "/v1/tickets/{ticket_id}/history"}

#: Problems are the staff's work, shown to every agent, but their incidents only as far as the
#: caller reads them: the world's problem, made by the desk from its ticket, is shown to the agent
#: of another group without that ticket's id.
PROBLEM_READS = ("/v1/problems", "/v1/problems/{problem_id}")


async def test_route_x_caller(world: Any, route: tuple[str, str, str], caller: str) -> None:
    service, method, path = route
    response = await world.call(service, method, path, caller)
    assert response.status_code < 500, response.text
    if path in PUBLIC:
        return
    if caller in world.refused_kinds:
        assert response.status_code == 401, (caller, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert world.refused_reasons[caller] in response.json()["detail"], (caller, response.text)
        return
    if caller == "another requester":
        if any(owned in path for owned in OWNED):
            assert response.status_code in {403, 404}, (response.status_code, response.text)
        for secret in world.secrets(path):
            assert secret not in response.text, f"{method} {path} shows {secret!r}"
    if caller == "agent of another group" and service == "ticket":
        if "{ticket_id}" in path:
            assert response.status_code == 404, (response.status_code, response.text)
        if path.startswith(SHARED_KNOWLEDGE):
            return
        for secret in world.secrets(path):
            assert secret not in response.text, f"{method} {path} shows {secret!r}"
    if caller in READERS and method == "GET" and path in TICKET_READS:
        assert response.status_code == 200, (caller, response.status_code, response.text)
        assert world.reference in response.text or path.endswith("/history")


SEARCHES = [
    ("ticket", "/v1/tickets", {}),
    ("ticket", "/v1/tickets", {"requester": "demo.alpha"}),
    ("ticket", "/v1/tickets", {"q": "Écran noir"}),
    # Due within a month: the world's open ticket is in the follow-up, for those who read it.
    ("ticket", "/v1/tickets/follow-up", {"due_within_hours": "720"}),
    ("ticket", "/v1/problems", {}),
    ("notify", "/v1/notifications", {}),
    ("notify", "/v1/notifications", {"recipient": "alice"}),
    ("metrics", "/v1/kpis", {"group": "desk"}),
]


@pytest.mark.parametrize(("service", "path", "params"), SEARCHES)
async def test_another_requester_finds_nothing_of_the_ticket_through_lists_and_search(
    world: Any, service: str, path: str, params: dict[str, str]
) -> None:
    params = {k: world.subject if k == "q" else v for k, v in params.items()}
    if path == "/v1/notifications":
        params.setdefault("ticket_id", world.ticket_id)
    if path == "/v1/tickets" and not params:
        params = {"requester": "demo.alpha", "limit": "200"}
    seen_by_owner = await world.clients[service].get(
        path, params=params, headers=world.callers["requester"]
    )
    seen_by_other = await world.clients[service].get(
        path, params=params, headers=world.callers["another requester"]
    )
    assert seen_by_other.status_code in {200, 403}, seen_by_other.text
    for secret in world.secrets():
        assert secret not in seen_by_other.text
    if path in {"/v1/tickets", "/v1/notifications", "/v1/tickets/follow-up"} and not {
        "q",
        "recipient",
    } & set(params):
        # The owner's own view shows it: the list is not simply empty for everyone.
        assert world.ticket_id in seen_by_owner.text, seen_by_owner.text[:300]


TICKET_SEARCHES = [(path, params) for service, path, params in SEARCHES if service == "ticket"]


@pytest.mark.parametrize(("path", "params"), TICKET_SEARCHES)
async def test_an_agent_of_another_group_finds_nothing_of_the_ticket_the_desk_finds_it(
    world: Any, path: str, params: dict[str, str]
) -> None:
    params = {k: world.subject if k == "q" else v for k, v in params.items()}
    client = world.clients["ticket"]
    nina = world.callers["agent of another group"]
    outsider = await client.get(path, params=params, headers=nina)
    assert outsider.status_code == 200, outsider.text
    for secret in world.secrets():
        assert secret not in outsider.text
    if path in {"/v1/tickets", "/v1/tickets/follow-up"}:
        for reader in ("agent", "manager", "service"):
            seen = await client.get(path, params=params, headers=world.callers[reader])
            assert world.ticket_id in seen.text, (reader, seen.text[:300])
    if path == "/v1/problems":
        # The desk's agent sees the problem made of the ticket: there was something to hide.
        seen = await client.get(path, params=params, headers=world.callers["agent"])
        assert world.problem_id in seen.text, seen.text[:300]
        assert world.ticket_id in seen.text, seen.text[:300]


@pytest.mark.parametrize("path", PROBLEM_READS)
async def test_a_problem_shows_the_desk_its_incident_and_another_group_only_the_problem(
    world: Any, path: str
) -> None:
    """The list and the detail agree: the agent of another group reads the problem (problems are
    the staff's work) but not the id of the desk's ticket it links; the desk's agent reads both."""
    url = path.format(problem_id=world.problem_id)
    client = world.clients["ticket"]
    outsider = await client.get(url, headers=world.callers["agent of another group"])
    desk = await client.get(url, headers=world.callers["agent"])
    assert outsider.status_code == desk.status_code == 200, (outsider.text, desk.text)
    assert world.problem_id in outsider.text, outsider.text[:300]
    assert world.ticket_id not in outsider.text, outsider.text[:300]
    assert world.ticket_id in desk.text, desk.text[:300]
    mine = outsider.json() if path.endswith("}") else _the_problem(world, outsider.json())
    assert mine["incidents"] == [], mine


def _the_problem(world: Any, problems: list[dict[str, Any]]) -> dict[str, Any]:
    [problem] = [p for p in problems if p["id"] == world.problem_id]
    return problem


async def test_nobody_but_allowed_callers_ever_changed_the_ticket(world: Any) -> None:
    """After the whole matrix: the ticket's stream holds no event by an intruder."""
    for caller in ("another requester", "agent of another group"):
        for service, method, path in world.routes:  # again, in case this test runs alone
            if method == "POST" and "{ticket_id}" in path:
                await world.call(service, method, path, caller)
    events = await EventStore(world.engine).read_stream(f"ticket-{world.ticket_id}")
    actors = {e.metadata.actor for e in events}
    intruders = {"demo.beta", "nina", "mallory"}
    assert not actors & intruders, [(e.type, e.metadata.actor) for e in events]
    bys = {e.data.get("by") for e in events} | {e.data.get("author") for e in events}
    assert not bys & intruders, bys


def _shown(world: Any, marker: str) -> str:
    """The world's value named `marker` (a field of the world)."""
    return str(getattr(world, marker))


#: (service, path, params, the caller who sees it, what shows it): each read whose refusal to
#: requesters the matrix checks, with a positive control in the same world, so that a refusal
#: cannot pass for an empty answer.
CONTROLLED = [
    ("ticket", "/v1/problems", {"ticket_id": "ticket_id"}, "agent", "problem_id"),
    ("ticket", "/v1/problems/{problem_id}", {}, "agent", "ticket_id"),
    ("ticket", "/v1/articles", {}, "agent", "article_subject"),
    ("ticket", "/v1/articles/{article_id}", {}, "agent", "article_subject"),
    ("metrics", "/v1/kpis", {"group": "desk"}, "manager", "backlog"),
    ("ticket", "/v1/tickets/{ticket_id}", {}, "requester", "reference"),
    ("notify", "/v1/notifications", {"ticket_id": "ticket_id"}, "requester", "ticket_id"),
]


@pytest.mark.parametrize(
    ("service", "path", "params", "control", "marker"),
    CONTROLLED,
    ids=[f"{s} {p}" for s, p, *_ in CONTROLLED],
)
async def test_another_requester_is_refused_what_the_right_caller_sees(
    world: Any, service: str, path: str, params: dict[str, str], control: str, marker: str
) -> None:
    url = path.format(ticket_id=world.ticket_id, problem_id=world.problem_id,
                      article_id=world.article_id)  # fmt: skip
    query = {k: _shown(world, v) if hasattr(world, v) else v for k, v in params.items()}
    client = world.clients[service]
    seen = await client.get(url, params=query, headers=world.callers[control])
    assert seen.status_code == 200, (control, seen.text)
    if marker == "backlog":
        assert seen.json()["backlog"]["total"] >= 1, seen.text  # the world's tickets counted
    else:
        assert _shown(world, marker) in seen.text, (control, seen.text[:300])
    refused = await client.get(url, params=query, headers=world.callers["another requester"])
    assert refused.status_code in {200, 403, 404}, refused.text
    if refused.status_code != 200:
        assert refused.headers["content-type"].startswith("application/problem+json")
    secrets = [*world.secrets(), world.article_subject, world.problem_id]
    for secret in (s for s in secrets if s not in url):  # the URL comes back in `instance`
        assert secret not in refused.text, f"{url} shows {secret!r} to another requester"
    if marker == "backlog":
        assert refused.status_code == 403, refused.text
