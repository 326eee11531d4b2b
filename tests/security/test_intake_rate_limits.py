"""Rate limits on intake's public routes, on the real app and database: a requester, or a client
without a valid token, gets 429 problem details with `Retry-After` past its burst; others (and
the other routes) go on being served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import issue_token

SECRET = "rate-limit-tests-secret-0123456789abcdef"
BURST = 3


@pytest.fixture
async def limited(database_url: str, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await load(engine)
    settings = Settings(
        database_url=database_url,
        helpdesk_jwt_secret=SECRET,
        intake_rate_limit_per_minute=1,
        intake_rate_limit_burst=BURST,
        intake_rate_limit_staff_per_minute=0,
    )
    transport = httpx.ASGITransport(app=build_app(settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


def bearer(sub: str, *roles: str) -> dict[str, str]:
    settings = Settings(helpdesk_jwt_secret=SECRET)
    return {"Authorization": f"Bearer {issue_token(settings, sub, list(roles))}"}


FORM: dict[str, Any] = {
    "channel": "web",
    "subject": "Souris",
    "description": "Elle ne clique plus.",
}


async def test_a_requester_past_its_burst_gets_429_with_retry_after(
    limited: httpx.AsyncClient,
) -> None:
    alice = bearer("demo.alpha", "requester")
    answers = [await limited.post("/v1/requests", json=FORM, headers=alice) for _ in range(BURST)]
    assert [a.status_code for a in answers] == [201] * BURST, answers[-1].text
    refused = await limited.post("/v1/requests", json=FORM, headers=alice)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status"] == 429
    assert (refused.json()["title"], refused.headers["content-language"]) == (
        "Trop de demandes",
        "fr",
    )
    english = await limited.post(
        "/v1/requests", json=FORM, headers={**alice, "Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"}
    )
    assert english.status_code == 429
    assert (english.json()["title"], english.headers["content-language"]) == (
        "Too many requests",
        "en",
    )
    # Another requester, staff and the routes that are not limited are still served.
    bob = bearer("demo.beta", "requester")
    assert (await limited.post("/v1/requests", json=FORM, headers=bob)).status_code == 201
    agent = bearer("agent.dupont", "agent")
    staff = {**FORM, "requester": {"login": "demo.alpha"}}
    for _ in range(BURST + 2):
        assert (await limited.post("/v1/requests", json=staff, headers=agent)).status_code == 201
    assert (await limited.get("/v1/requesters", headers=agent)).status_code == 200
    assert (await limited.get("/healthz")).status_code == 200


async def test_callers_without_a_valid_token_are_limited_per_client_ip(
    limited: httpx.AsyncClient,
) -> None:
    forged = {"Authorization": "Bearer not.a.token"}
    codes = [
        (await limited.post("/v1/calls", json={}, headers=forged)).status_code
        for _ in range(BURST + 1)
    ]
    assert codes == [401] * BURST + [429]
    anonymous = await limited.post("/v1/inbound-emails", content=b"From: x")
    assert anonymous.status_code == 429
    assert "retry-after" in anonymous.headers
