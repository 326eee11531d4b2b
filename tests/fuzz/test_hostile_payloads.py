"""Malformed, oversized and hostile payloads: a clear 4xx problem (or quarantine), never a 500,
and the service keeps serving (the next normal request succeeds)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from helpdesk_shared.http.problems import PROBLEM_JSON

Clients = dict[str, httpx.AsyncClient]

AGENT = ("agent.hostile", "agent")
MANAGER = ("manager.hostile", "manager")
MAIL_GATEWAY = ("mail-gateway", "service")
DEPTH = 5_000


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


def raw_form(subject_json: str) -> bytes:
    """A request whose subject is the given JSON text, verbatim (for what `json=` cannot send)."""
    body = json.dumps(form(subject="PLACEHOLDER"))
    return body.replace('"PLACEHOLDER"', subject_json).encode()


@dataclass(frozen=True)
class Hostile:
    kind: str
    service: str
    method: str
    path: str
    caller: tuple[str, str] = AGENT
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: Statuses that are a correct answer; 5xx never is.
    allowed: frozenset[int] = frozenset({400, 413, 415, 422})


ACCEPTED_OR_REFUSED = frozenset({200, 201, 400, 413, 422})
JSON_HEADERS = {"Content-Type": "application/json"}

CASES = [
    # Structure and size.
    Hostile(
        "deep JSON nesting",
        "intake",
        "POST",
        "/v1/requests",
        content=raw_form("[" * DEPTH + "]" * DEPTH),
        headers=JSON_HEADERS,
    ),
    Hostile(
        "deep JSON nesting",
        "ticket",
        "POST",
        "/v1/problems",
        caller=MANAGER,
        content=("{" + '"a":{' * DEPTH + "}" * (DEPTH + 1)).encode(),
        headers=JSON_HEADERS,
    ),
    Hostile("huge string", "intake", "POST", "/v1/requests", json=form(subject="x" * 2_000_000)),
    Hostile("huge string", "intake", "POST", "/v1/requests", json=form(description="é" * 30_000)),
    Hostile(
        "huge query",
        "ticket",
        "GET",
        "/v1/tickets",
        params={"q": "a b " * 15_000},
        allowed=frozenset({200, 400, 414, 422}),
    ),
    Hostile("malformed JSON", "intake", "POST", "/v1/requests", content=b'{"subject": '),
    # Wrong types.
    Hostile("wrong types", "intake", "POST", "/v1/requests", json=form(subject=123)),
    Hostile("wrong types", "intake", "POST", "/v1/requests", json=form(requester="demo.alpha")),
    Hostile("wrong types", "intake", "POST", "/v1/requests", json=[form()]),
    Hostile("wrong types", "intake", "POST", "/v1/calls", caller=MAIL_GATEWAY, json={"x": 1}),
    Hostile("wrong types", "ticket", "GET", "/v1/tickets", params={"limit": "ten"}),
    Hostile("wrong types", "ticket", "GET", "/v1/tickets/not-a-uuid"),
    Hostile(
        "wrong types",
        "notify",
        "GET",
        "/v1/notifications",
        caller=MANAGER,
        params={"offset": "43715549584837099520"},
    ),
    Hostile(
        "wrong types", "metrics", "GET", "/v1/kpis", caller=MANAGER, params={"from": "yesterday"}
    ),
    # Unicode edge cases.
    Hostile("NUL byte", "intake", "POST", "/v1/requests", json=form(subject="a\u0000b")),
    Hostile("NUL byte", "ticket", "GET", "/v1/tickets", params={"requester": "a\u0000b"}),
    Hostile(
        "NUL byte",
        "notify",
        "GET",
        "/v1/notifications",
        caller=MANAGER,
        params={"recipient": "a\u0000b"},
    ),
    Hostile(
        "lone surrogate",
        "intake",
        "POST",
        "/v1/requests",
        content=raw_form('"\\ud800 seul"'),
        headers=JSON_HEADERS,
    ),
    Hostile("invalid UTF-8", "intake", "POST", "/v1/requests", content=b'{"subject": "\xff\xfe"}'),
    Hostile(
        "RTL override",
        "intake",
        "POST",
        "/v1/requests",
        json=form(subject="facture\u202egpj.exe"),
        allowed=ACCEPTED_OR_REFUSED,
    ),
    Hostile(
        "long emoji",
        "intake",
        "POST",
        "/v1/requests",
        json=form(subject="👩‍👩‍👧‍👦" * 150),
        allowed=ACCEPTED_OR_REFUSED,
    ),
    # SQL injection attempts: stored or searched verbatim, never executed.
    Hostile(
        "SQL injection",
        "intake",
        "POST",
        "/v1/requests",
        json=form(subject="x'); DROP TABLE intake.requesters; --"),
        allowed=ACCEPTED_OR_REFUSED,
    ),
    Hostile(
        "SQL injection",
        "ticket",
        "GET",
        "/v1/tickets",
        params={"q": "' OR 1=1; DROP TABLE ticket.tickets; --"},
        allowed=frozenset({200}),
    ),
    Hostile(
        "SQL injection",
        "ticket",
        "GET",
        "/v1/tickets",
        params={"requester": "x' OR '1'='1", "group": "desk'--"},
        allowed=frozenset({200}),
    ),
    Hostile(
        "SQL injection",
        "ticket",
        "GET",
        "/v1/tickets",
        params={"cursor": "1; SELECT 1"},
        allowed=frozenset({400, 422}),
    ),
    Hostile(
        "SQL injection",
        "intake",
        "GET",
        "/v1/requesters",
        params={"organisation": "' UNION SELECT * FROM pg_user --"},
        allowed=frozenset({200}),
    ),
    Hostile(
        "SQL injection",
        "notify",
        "GET",
        "/v1/notifications",
        caller=MANAGER,
        params={"recipient": "' OR 1=1 --"},
        allowed=frozenset({200}),
    ),
    Hostile(
        "SQL injection",
        "metrics",
        "GET",
        "/v1/kpis",
        caller=MANAGER,
        params={"group": "desk' OR '1'='1", "channel": "web; DROP TABLE x"},
        allowed=frozenset({200, 422}),
    ),
    # Header injection in what ends up in mail headers (the mail itself: test_hostile_mail).
    Hostile(
        "header injection",
        "intake",
        "POST",
        "/v1/requests",
        json=form(subject="Imprimante\r\nBcc: intrus@evil.example"),
        allowed=ACCEPTED_OR_REFUSED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.service}-{c.kind}-{c.path}")
async def test_hostile_payload_is_refused_clearly_and_service_keeps_serving(
    case: Hostile, hostile_clients: Clients, token_for: Any
) -> None:
    client = hostile_clients[case.service]
    headers = token_for(*case.caller) | case.headers
    response = await client.request(
        case.method,
        case.path,
        json=case.json,
        content=case.content,
        params=case.params,
        headers=headers,
    )
    assert response.status_code in case.allowed, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["status"] == response.status_code
    await assert_still_serving(hostile_clients, token_for)


async def assert_still_serving(clients: Clients, token_for: Any) -> None:
    agent = token_for(*AGENT)
    opened = await clients["intake"].post("/v1/requests", json=form(), headers=agent)
    assert opened.status_code == 201, opened.text
    listed = await clients["ticket"].get("/v1/tickets", params={"limit": 1}, headers=agent)
    assert listed.status_code == 200, listed.text
    for service in ("notify", "metrics"):
        assert (await clients[service].get("/healthz")).status_code == 200
