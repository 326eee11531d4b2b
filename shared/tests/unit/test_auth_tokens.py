import base64
import json
import time
from collections.abc import Callable

import jwt
import pytest
from fastapi import APIRouter, Depends
from httpx import ASGITransport, AsyncClient

from helpdesk_shared.auth import (
    CurrentPrincipal,
    Principal,
    Role,
    TokenVerifier,
    issue_token,
    require_roles,
)
from helpdesk_shared.http.app import create_app
from helpdesk_shared.settings import CommonSettings

SETTINGS = CommonSettings(helpdesk_jwt_secret="unit-test-secret-0123456789abcdef")


def _app() -> object:
    router = APIRouter()

    @router.get("/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        return {"sub": principal.sub, "roles": sorted(principal.roles), "level": principal.level}

    @router.get("/v1/managed", dependencies=[Depends(require_roles(Role.MANAGER))])
    async def managed() -> dict[str, str]:
        return {"ok": "yes"}

    return create_app(
        service="test", version="0", settings=SETTINGS, routers=[router], readiness_checks={}
    )


def _client() -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=_app()), base_url="http://test")  # type: ignore[arg-type]


def _unsigned(claims: dict[str, object]) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_valid_token_gives_the_claims() -> None:
    token = issue_token(SETTINGS, "alice", ["agent"], level=2, groups=["desk"])
    principal = TokenVerifier(SETTINGS).verify(token)
    assert principal == Principal("alice", frozenset({Role.AGENT}), 2, frozenset({"desk"}))


def _in_a_minute() -> int:
    return int(time.time()) + 60


#: Each refused token, built when its test runs (a token built at collection could expire before
#: the test, and be refused for that instead), with the reason the refusal must give.
REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "wrong-signature": (
        lambda: jwt.encode(
            {"sub": "x", "roles": ["manager"], "exp": _in_a_minute()},
            "another-key-that-is-long-enough-for-hs256",
        ),
        "Signature verification failed",
    ),
    "expired": (
        lambda: issue_token(SETTINGS, "x", ["manager"], ttl_seconds=-10),
        "Signature has expired",
    ),
    "alg-none": (
        lambda: _unsigned({"sub": "x", "roles": ["manager"], "exp": _in_a_minute()}),
        "alg value is not allowed",
    ),
    "no-expiry": (
        lambda: jwt.encode({"sub": "x", "roles": ["manager"]}, SETTINGS.helpdesk_jwt_secret),
        '"exp" claim',
    ),
    "bad-level": (
        lambda: jwt.encode(
            {"sub": "x", "roles": ["agent"], "level": 7, "exp": _in_a_minute()},
            SETTINGS.helpdesk_jwt_secret,
        ),
        "level must be 1, 2 or 3",
    ),
}


@pytest.mark.parametrize("kind", list(REFUSED))
async def test_refused_tokens_answer_401_problem_with_their_reason(kind: str) -> None:
    build, reason = REFUSED[kind]
    async with _client() as client:
        response = await client.get("/v1/me", headers={"Authorization": f"Bearer {build()}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["title"] == "Jeton invalide"
    assert reason in problem["detail"], problem["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="helpdesk", error="invalid_token"'), challenge


async def test_no_token_is_401_and_a_missing_role_is_403() -> None:
    agent = issue_token(SETTINGS, "bob", ["agent"], level=1)
    manager = issue_token(SETTINGS, "carol", ["manager"])
    async with _client() as client:
        anonymous = await client.get("/v1/me")
        forbidden = await client.get("/v1/managed", headers={"Authorization": f"Bearer {agent}"})
        allowed = await client.get("/v1/managed", headers={"Authorization": f"Bearer {manager}"})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="helpdesk"'  # RFC 6750
    assert "www-authenticate" not in forbidden.headers
    assert forbidden.status_code == 403
    assert forbidden.json()["title"] == "Accès refusé"
    assert forbidden.json()["detail"] == "This needs one of the roles: manager."
    assert allowed.json() == {"ok": "yes"}


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "bearer"])
async def test_an_authorization_that_is_no_bearer_token_is_401_asking_for_one(header: str) -> None:
    async with _client() as client:
        answer = await client.get("/v1/me", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json()["title"] == "Authentification requise"
    assert answer.headers["www-authenticate"] == 'Bearer realm="helpdesk"'


async def test_the_scheme_is_case_insensitive_and_the_token_trimmed() -> None:
    token = issue_token(SETTINGS, "alice", ["requester"])
    async with _client() as client:
        answer = await client.get("/v1/me", headers={"Authorization": f"bEaReR  {token} "})
    assert answer.json()["sub"] == "alice"


def test_the_openapi_document_declares_the_bearer_scheme_on_authenticated_routes() -> None:
    """The principal is read without `HTTPBearer`'s sub-dependency; the scheme stays
    documented, with the statuses the dependency answers."""
    document = _app().openapi()  # type: ignore[attr-defined]
    assert document["components"]["securitySchemes"] == {
        "HTTPBearer": {"type": "http", "scheme": "bearer"}
    }
    me = document["paths"]["/v1/me"]["get"]
    managed = document["paths"]["/v1/managed"]["get"]
    assert me["security"] == managed["security"] == [{"HTTPBearer": []}]
    assert {"401", "503"} <= set(me["responses"])
    assert "403" not in me["responses"]
    assert {"401", "403"} <= set(managed["responses"])
    assert "security" not in document["paths"]["/healthz"]["get"]


async def test_operations_routes_need_no_token() -> None:
    async with _client() as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert "helpdesk_http_requests_total" in metrics.text


def test_a_verified_token_is_reused_until_it_expires_and_never_past_a_minute() -> None:
    now = [time.time()]
    verifier = TokenVerifier(SETTINGS, clock=lambda: now[0])
    short = issue_token(SETTINGS, "alice", ["agent"], ttl_seconds=30)
    long = issue_token(SETTINGS, "bob", ["agent"], ttl_seconds=3600)
    assert verifier.verify(short).sub == "alice"
    assert verifier.verify(long).sub == "bob"
    checks: list[str] = []
    real_check = verifier._check

    def spied(token: str) -> tuple[Principal, float]:
        checks.append(token)
        return real_check(token)

    verifier._check = spied  # type: ignore[method-assign]
    assert verifier.verify(short).sub == "alice"  # from memory
    assert checks == []
    now[0] += 31  # past the short token's expiry (PyJWT's real clock still accepts it)
    assert verifier.verify(long).sub == "bob"  # within the minute: from memory
    verifier.verify(short)
    assert checks == [short]  # checked again
    now[0] += 30  # past a minute: the long token is checked again too
    verifier.verify(long)
    assert checks == [short, long]


def test_a_refused_token_is_refused_every_time() -> None:
    verifier = TokenVerifier(SETTINGS)
    forged = issue_token(
        CommonSettings(helpdesk_jwt_secret="another-secret-0123456789abcdefgh"), "eve", ["admin"]
    )
    expired = issue_token(SETTINGS, "bob", ["agent"], ttl_seconds=-1)
    for _ in range(3):
        for token in (forged, expired):
            with pytest.raises(jwt.PyJWTError):
                verifier.verify(token)
