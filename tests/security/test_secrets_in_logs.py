"""Secrets never appear in logs: the JWT secret and the bearer tokens callers send (valid, expired,
forged) are absent from everything a running intake process writes at DEBUG level, and from the
records every service logs in process, including refusals and the answers themselves."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tokens(secret: str) -> dict[str, str]:
    settings = CommonSettings(helpdesk_jwt_secret=secret)
    now = int(time.time())
    claims = {"sub": "boss", "roles": ["manager"], "iat": now, "exp": now + 600}
    return {
        "valid agent": issue_token(settings, "agent.logs", ["agent"], level=1, groups=["desk"]),
        "valid service": issue_token(settings, "mail-gateway", ["service"]),
        "expired": issue_token(settings, "boss", ["manager"], ttl_seconds=-60),
        "forged": jwt.encode(claims, "another-secret-0123456789abcdefghij", "HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
    }


def _exercise(base_url: str, tokens: dict[str, str]) -> None:
    form = {
        "channel": "phone",
        "subject": "Messagerie",
        "description": "Plus de mails.",
        "requester": {"login": "demo.alpha"},
    }
    mail = (
        b"From: Alice <alice.martin@alpha.example>\r\nSubject: test\r\n"
        b"Message-ID: <logs-1@alpha.example>\r\n\r\nBonjour"
    )
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for token in tokens.values():
            auth = {"Authorization": f"Bearer {token}", "x-correlation-id": "logs-test"}
            client.post("/v1/requests", json=form, headers=auth)
            client.post("/v1/requests", json={"subject": 1}, headers=auth)
            client.get("/v1/requesters", headers=auth)
            client.post(
                "/v1/inbound-emails",
                content=mail,
                headers=auth | {"Content-Type": "message/rfc822"},
            )
        client.get("/v1/requesters", headers={"Authorization": "Basic dXNlcjpwYXNz"})


def test_a_running_service_logs_neither_the_secret_nor_tokens(
    service_env: dict[str, str], fresh_database_url: str, tmp_path: Path
) -> None:
    secret = service_env["HELPDESK_JWT_SECRET"]
    port = _free_port()
    env = os.environ | service_env
    env |= {
        "DATABASE_URL": fresh_database_url,
        "INTAKE_PORT": str(port),
        "LOG_LEVEL": "DEBUG",
        "LOG_JSON": "true",
        "INTAKE_RATE_LIMIT_PER_MINUTE": "0",
    }
    output = tmp_path / "intake.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpdesk_intake"], env=env, stdout=sink, stderr=sink
        )
        try:
            _wait_until_up(f"http://127.0.0.1:{port}", process)
            tokens = _tokens(secret)
            _exercise(f"http://127.0.0.1:{port}", tokens)
        finally:
            process.terminate()
            process.wait(timeout=30)
    logged = output.read_text(errors="replace")
    assert "logs-test" in logged or "/v1/requests" in logged or "intake" in logged, logged[:500]
    assert secret not in logged
    for kind, token in tokens.items():
        assert token not in logged, kind
        signature = token.split(".")[-1]
        assert not signature or signature not in logged, f"the signature of the {kind} token"


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"intake exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("intake did not start")


async def test_no_service_logs_the_secret_or_a_token_in_process(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Every route x every caller once more, with DEBUG records captured from every logger."""
    secret = world.settings.helpdesk_jwt_secret
    tokens = [h["Authorization"].split(" ", 1)[1] for h in world.callers.values() if h]
    answers = []
    with caplog.at_level(logging.DEBUG):
        for service, method, path in world.routes:
            for caller in world.callers:
                answers.append(await world.call(service, method, path, caller))
    assert caplog.records, "nothing was logged: the capture saw nothing to check"
    logged = caplog.text + "".join(
        str(r.__dict__) + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    assert secret not in logged
    leaked = [r for r in caplog.records for t in tokens if t in str(r.__dict__)]
    assert not leaked, [(r.name, r.getMessage()[:300]) for r in leaked[:3]]
    assert not [t for t in tokens if t in logged or (t.split(".")[-1] or t) in logged]
    answered = "".join(a.text for a in answers)
    assert secret not in answered
    assert not [t for t in tokens if t in answered]
    assert secret not in repr(world.settings)
    assert secret not in str(world.settings)
