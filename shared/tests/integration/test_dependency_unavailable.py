"""A database that is down, cut off or too slow answers 503 with `Retry-After` and problem details
naming it, on a real PostgreSQL (never 500: the client can act on it by retrying later).

The shared server is never stopped here: the app's engine points at a port nothing listens on,
its statement is cancelled by `statement_timeout` or by the pool's timeout, or the test
terminates the app's own connection in the middle of its statement."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import httpx
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.auth import issue_token
from helpdesk_shared.db import DatabaseTimeouts, asyncpg_dsn, create_engine
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.problems import PROBLEM_JSON
from helpdesk_shared.http.unavailable import DEPENDENCY_UNAVAILABLE
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.service import Consuming, build_service
from helpdesk_shared.settings import CommonSettings
from helpdesk_testkit.stalling import stalling_server

RETRY_AFTER = 7
ENGLISH = {"Accept-Language": "en"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Statements PostgreSQL refuses with SQLSTATE class 55, by name: 55000 (a primary is not in
#: recovery: what a server not in the state needed answers), 55P03 (a lock not granted now),
#: 55P02 (a setting that never changes without a restart: the statement's fault).
_NOT_IN_PREREQUISITE_STATE = {
    "55000": "SELECT pg_wal_replay_pause()",
    "55P03": "LOCK TABLE eventstore.events IN ACCESS EXCLUSIVE MODE NOWAIT",
    "55P02": "SET wal_level = minimal",
}


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/v1/now")
    async def now(engine: Engine) -> dict[str, str]:
        async with engine.connect() as conn:
            return {"now": str(await conn.scalar(text("SELECT now()")))}

    @router.get("/v1/slow")
    async def slow(engine: Engine) -> dict[str, str]:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(3), 'helpdesk-slow-route'"))
        return {}

    @router.get("/v1/sql/{name}")
    async def prerequisite(name: str, engine: Engine) -> dict[str, str]:
        async with engine.begin() as conn:
            await conn.execute(text(_NOT_IN_PREREQUISITE_STATE[name]))
        return {}

    @router.get("/v1/broker")
    async def broker(engine: Engine) -> dict[str, str]:
        connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{_closed_port()}/")
        await connection.close()
        return {}

    return router


@asynccontextmanager
async def _client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = CommonSettings(database_url=database_url, helpdesk_retry_after_seconds=RETRY_AFTER)
    app = build_service(
        service="test",
        version="0",
        settings=settings,
        engine=engine,
        owns_engine=False,
        readiness_table="eventstore.events",
        routers=[_router()],
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
    finally:
        await engine.dispose()


def _assert_unavailable(answer: httpx.Response, dependency: str = "database") -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == str(RETRY_AFTER)
    assert answer.headers["Content-Type"] == PROBLEM_JSON
    body: dict[str, Any] = answer.json()
    assert body["type"] == DEPENDENCY_UNAVAILABLE
    assert body["dependency"] == dependency
    assert body["status"] == 503
    return body


async def test_a_database_nothing_listens_for_answers_503_naming_it() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/helpdesk"
    async with _client(create_engine(url), url) as client:
        english = await client.get("/v1/now", headers=ENGLISH)
        french = await client.get("/v1/now")
    body = _assert_unavailable(english)
    assert body["title"] == "Service temporarily unavailable"
    assert "database" in body["detail"]
    assert _assert_unavailable(french)["title"] == "Service momentanément indisponible"
    assert french.headers["Content-Language"] == "fr"


async def test_a_database_that_accepts_and_never_answers_answers_503_past_the_connect_timeout(
    database_url: str,
) -> None:
    async with stalling_server() as port:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/helpdesk"
        engine = create_engine(url, timeouts=DatabaseTimeouts(connect=0.3))
        async with _client(engine, url) as client:
            body = _assert_unavailable(await client.get("/v1/now"))
    assert body["dependency"] == "database"


async def test_a_statement_past_the_statement_timeout_answers_503(database_url: str) -> None:
    engine = create_engine(database_url, timeouts=DatabaseTimeouts(statement=0.3))
    async with _client(engine, database_url) as client:
        _assert_unavailable(await client.get("/v1/slow"))
        assert (await client.get("/v1/now")).status_code == 200  # the pool serves on


async def test_no_free_connection_within_the_pool_timeout_answers_503(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, timeouts=DatabaseTimeouts(pool=0.3))
    async with _client(engine, database_url) as client:
        async with engine.connect(), engine.connect():  # the pool's 1 + 1 overflow, all taken
            _assert_unavailable(await client.get("/v1/now"))
        assert (await client.get("/v1/now")).status_code == 200


async def test_a_connection_terminated_mid_statement_answers_503(
    database_url: str, engine: AsyncEngine
) -> None:
    """What a PostgreSQL restart does to a request in flight: its connection is terminated."""
    app_engine = create_engine(database_url, pool_size=1)
    async with _client(app_engine, database_url) as client:
        request = asyncio.create_task(client.get("/v1/slow"))
        for _ in range(100):
            async with engine.connect() as admin:
                killed = await admin.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE query LIKE '%helpdesk-slow-route%' AND pid <> pg_backend_pid()"
                    )
                )
            if killed:
                break
            await asyncio.sleep(0.05)
        assert killed, "the slow statement never started"
        _assert_unavailable(await request)
        assert (await client.get("/v1/now")).status_code == 200


async def test_postgresql_saying_an_object_is_not_in_its_prerequisite_state_answers_503(
    database_url: str, engine: AsyncEngine
) -> None:
    """55000 and 55P03 raised by the real server mean "not now": 503 naming the database; a
    55P02 is the statement's own fault and stays a 500."""
    async with _client(create_engine(database_url, pool_size=1), database_url) as client:
        _assert_unavailable(await client.get("/v1/sql/55000"))
        async with engine.connect() as holder:  # holds a lock the route's NOWAIT cannot get
            await holder.execute(text("LOCK TABLE eventstore.events IN ACCESS SHARE MODE"))
            _assert_unavailable(await client.get("/v1/sql/55P03"))
            await holder.rollback()
        bug = await client.get("/v1/sql/55P02")
        assert bug.status_code == 500, bug.text
        assert "Retry-After" not in bug.headers


async def test_a_broker_nothing_listens_for_answers_503_naming_it(database_url: str) -> None:
    async with _client(create_engine(database_url, pool_size=1), database_url) as client:
        _assert_unavailable(await client.get("/v1/broker"), dependency="broker")


def test_the_timeouts_are_read_from_the_settings() -> None:
    settings = CommonSettings(
        helpdesk_db_statement_timeout_seconds=2.5,
        helpdesk_db_pool_timeout_seconds=1.5,
        helpdesk_db_connect_timeout_seconds=0.5,
    )
    assert DatabaseTimeouts.of(settings) == DatabaseTimeouts(statement=2.5, pool=1.5, connect=0.5)
    assert asyncpg_dsn(settings.database_url).startswith("postgresql://")


async def test_a_broker_that_never_answers_fails_the_dead_letter_route_with_503(
    database_url: str,
) -> None:
    """`HELPDESK_BROKER_TIMEOUT_SECONDS` bounds the dead-letter routes' broker calls: a broker
    that accepts the connection and never speaks is a 503 naming it once it fired."""
    async with stalling_server() as port:
        amqp_url = f"amqp://guest:guest@127.0.0.1:{port}/"
        settings = CommonSettings(
            database_url=database_url,
            amqp_url=amqp_url,
            helpdesk_retry_after_seconds=RETRY_AFTER,
            helpdesk_broker_timeout_seconds=0.3,
        )
        engine = create_engine(database_url, pool_size=1)
        consumer = Consumer(
            name="stalled",
            engine=engine,
            amqp_url=amqp_url,
            exchange="stalled.test",
            queue_prefix="stalled-test",
            handler=_nothing,
        )
        app = build_service(
            service="test",
            version="0",
            settings=settings,
            engine=engine,
            owns_engine=False,
            readiness_table="eventstore.events",
            routers=[],
            consuming=Consuming([consumer], enabled=False),
        )
        token = issue_token(settings, "chef", ["admin"])
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                answer = await client.get(
                    "/v1/dead-letters", headers={"Authorization": f"Bearer {token}"}
                )
        finally:
            await engine.dispose()
    _assert_unavailable(answer, dependency="broker")


async def _nothing(*_: object) -> None:
    return None
