"""Intake's app against this run's real database, with tokens for each kind of caller."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.demo_data import load
from helpdesk_intake.bootstrap import build_app
from helpdesk_intake.settings import Settings
from helpdesk_shared.auth import issue_token

SECRET = "intake-tests-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def intake_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        helpdesk_jwt_secret=SECRET,
        intake_staff_domains=("dsi.example.fr",),
        # No ticket service here (a closed port): answers carry no suggestion.
        intake_ticket_url=f"http://127.0.0.1:{closed_port()}",
    )


def closed_port() -> int:
    """A port nothing listens on (bound then released), never the real ticket service's."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
async def intake_client(
    intake_settings: Settings, engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    await load(engine)
    app = build_app(intake_settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield client


TokenFor = Callable[..., dict[str, str]]


@pytest.fixture(scope="session")
def auth(intake_settings: Settings) -> TokenFor:
    """`auth("agent1", "agent")` -> the Authorization header of that caller."""

    def headers(sub: str, *roles: str) -> dict[str, str]:
        token = issue_token(intake_settings, sub, list(roles), level=1, groups=["desk"])
        return {"Authorization": f"Bearer {token}"}

    return headers
