"""Which errors mean "a dependency is down or too slow" (503), and which stay a bug (500)."""

from __future__ import annotations

import asyncpg.exceptions
import httpx
from fastapi import APIRouter
from sqlalchemy import exc as sa_exc

from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.unavailable import unavailable_dependency
from helpdesk_shared.settings import CommonSettings


def _caused_by(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as error:
            raise RuntimeError("wrapped") from error
    except RuntimeError as wrapped:
        return wrapped


def test_postgresql_saying_not_now_is_the_database_being_unavailable() -> None:
    for error in (
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many connections"),
        asyncpg.exceptions.CrashShutdownError("terminating connection: crash of another server"),
        asyncpg.exceptions.IdleSessionTimeoutError("terminating connection: idle-session timeout"),
        asyncpg.exceptions.ClientCannotConnectError("could not connect"),
        asyncpg.exceptions.ConnectionFailureError("connection failure"),
        asyncpg.exceptions.OutOfMemoryError("out of shared memory"),
        asyncpg.exceptions.ObjectNotInPrerequisiteStateError("recovery is not in progress"),
        asyncpg.exceptions.ObjectInUseError("database is being accessed by other users"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        sa_exc.TimeoutError("QueuePool limit reached"),
    ):
        assert unavailable_dependency(_caused_by(error)) == "database", error


def test_other_errors_are_not_blamed_on_a_dependency() -> None:
    assert unavailable_dependency(ValueError("bug")) is None
    assert unavailable_dependency(asyncpg.exceptions.UniqueViolationError("dup")) is None
    # Class 55 whose retry never helps: the statement itself is at fault.
    assert unavailable_dependency(asyncpg.exceptions.CantChangeRuntimeParamError("x")) is None
    assert unavailable_dependency(asyncpg.exceptions.UnsafeNewEnumValueUsageError("x")) is None
    assert unavailable_dependency(_caused_by(ConnectionRefusedError("ours"))) is None


async def test_an_os_error_of_the_service_itself_stays_a_500() -> None:
    router = APIRouter()

    @router.get("/v1/file")
    async def read_file() -> dict[str, str]:
        raise FileNotFoundError("/nowhere")

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/v1/file")
    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers


def test_a_route_reaching_the_database_declares_503_with_retry_after() -> None:
    router = APIRouter()

    @router.get("/v1/open")
    async def open_() -> dict[str, str]:
        return {}

    @router.get("/v1/stored")
    async def stored(engine: Engine) -> dict[str, str]:
        return {}

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
    )
    paths = app.openapi()["paths"]
    assert "503" not in paths["/v1/open"]["get"]["responses"]
    declared = paths["/v1/stored"]["get"]["responses"]["503"]
    assert "Retry-After" in declared["headers"]
    assert "application/problem+json" in declared["content"]
