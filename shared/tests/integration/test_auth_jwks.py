"""RS256 tokens checked against an identity provider's JWKS served over real HTTP.

A tiny HTTP server on localhost serves the keys generated in the test; the service fetches them
without blocking its event loop, caches them, fetches again once when a token names a new key
id (rotation), and answers 503 with `Retry-After` when the provider does not answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic import ValidationError

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.problems import PROBLEM_JSON
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.stalling import stalling_server

AUDIENCE = "helpdesk-api"
ISSUER = "https://idp.example.test/realms/dsi"


class IdentityProvider:
    """Serves `keys` as a JWKS and counts the requests it answered."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.hits += 1
                body = json.dumps({"keys": provider.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"

    def publish(self, kid: str) -> rsa.RSAPrivateKey:
        """A new signing key, published under `kid` (replacing the previous ones: a rotation)."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
        self.keys = [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]
        return private


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def _settings(url: str, **overrides: Any) -> CommonSettings:
    values: dict[str, Any] = {
        "helpdesk_jwt_algorithm": "RS256",
        "helpdesk_jwks_url": url,
        "helpdesk_jwt_audience": AUDIENCE,
        "helpdesk_jwt_issuer": ISSUER,
        "helpdesk_jwks_refresh_seconds": 30,
    }
    return CommonSettings(**(values | overrides))


def _token(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "alice", "roles": ["agent"], "aud": AUDIENCE, "iss": ISSUER}
    payload |= {"iat": now, "exp": now + 600, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def _client(settings: CommonSettings) -> AsyncClient:
    router = APIRouter()

    @router.get("/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.sub}

    app = create_app(
        service="test", version="0", settings=settings, routers=[router], readiness_checks={}
    )
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_rs256_token_is_accepted_and_the_keys_are_cached(
    idp: IdentityProvider,
) -> None:
    key = idp.publish("k1")
    async with _client(_settings(idp.url)) as client:
        first = await client.get("/v1/me", headers=_bearer(_token(key, "k1")))
        second = await client.get("/v1/me", headers=_bearer(_token(key, "k1", sub="bob")))
    assert (first.status_code, first.json()) == (200, {"sub": "alice"})
    assert (second.status_code, second.json()) == (200, {"sub": "bob"})
    assert idp.hits == 1


async def test_an_unknown_key_id_fetches_the_keys_once_then_the_rotated_key_is_accepted(
    idp: IdentityProvider,
) -> None:
    old = idp.publish("k1")
    async with _client(_settings(idp.url, helpdesk_jwks_refresh_seconds=2)) as client:
        assert (await client.get("/v1/me", headers=_bearer(_token(old, "k1")))).status_code == 200
        new = idp.publish("k2")  # the provider rotates its key
        await asyncio.sleep(2.05)
        rotated = await client.get("/v1/me", headers=_bearer(_token(new, "k2", sub="carol")))
        assert idp.hits == 2
        forged = [
            await client.get("/v1/me", headers=_bearer(_token(new, f"made-up-{n}")))
            for n in range(5)
        ]
    assert (rotated.status_code, rotated.json()) == (200, {"sub": "carol"})
    assert {r.status_code for r in forged} == {401}
    assert idp.hits == 2, "made-up key ids must not make the service hammer the provider"


def _free_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/certs"  # nothing listens there any more


async def test_an_identity_provider_that_does_not_answer_gives_503_with_retry_after() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with _client(_settings(_free_port_url())) as client:
        answer = await client.get(
            "/v1/me", headers={**_bearer(_token(key, "k1")), "Accept-Language": "en"}
        )
    assert answer.status_code == 503
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.headers["retry-after"] == "30"
    assert answer.json()["type"] == "urn:helpdesk:problem:identity-provider-unavailable"
    assert answer.json()["title"] == "Identity provider unavailable"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-api"}, "audience"),
        ({"iss": "https://elsewhere.test/"}, "issuer"),
    ],
)
async def test_a_token_for_another_audience_or_issuer_is_refused_with_401(
    idp: IdentityProvider, claims: dict[str, str], reason: str
) -> None:
    key = idp.publish("k1")
    async with _client(_settings(idp.url)) as client:
        answer = await client.get("/v1/me", headers=_bearer(_token(key, "k1", **claims)))
    assert answer.status_code == 401
    assert reason in answer.json()["detail"].lower()


@pytest.mark.parametrize("missing", ["helpdesk_jwt_audience", "helpdesk_jwt_issuer"])
def test_rs256_without_audience_or_issuer_does_not_start(missing: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _settings("http://127.0.0.1:9/certs", **{missing: None})
    assert missing.upper() in str(refused.value)


async def test_an_identity_provider_that_hangs_gives_503_once_its_timeout_fires() -> None:
    """`HELPDESK_JWKS_TIMEOUT_SECONDS`: the provider accepts the connection and never answers;
    the fetch gives up (a read timeout, not a refusal) and the caller gets 503, not a hang."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with stalling_server() as port:
        settings = _settings(f"http://127.0.0.1:{port}/certs", helpdesk_jwks_timeout_seconds=0.3)
        async with _client(settings) as client:
            answer = await client.get("/v1/me", headers=_bearer(_token(key, "k1")))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "30"
    assert "ReadTimeout" in answer.json()["detail"]
