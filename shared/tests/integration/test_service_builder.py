"""`build_service`: the lifespan, readiness and routes every service gets from one place."""

from __future__ import annotations

import asyncio
import socket

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.service import Background, Consuming, build_service
from helpdesk_shared.settings import CommonSettings


def _closed_amqp_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/"


async def _nothing(*_: object) -> None:
    return None


def _consumer(settings: CommonSettings, engine: AsyncEngine) -> Consumer:
    return Consumer(
        name="builder-test",
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange="builder.test",
        queue_prefix="builder-test",
        handler=_nothing,
    )


async def test_the_lifespan_starts_stops_in_order_closes_and_disposes(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    seen: list[str] = []
    asked = asyncio.Event()

    async def watcher() -> None:
        seen.append("watcher started")
        await asked.wait()
        seen.append("watcher finished its round")

    async def stop_watcher() -> None:
        seen.append("watcher asked to stop")
        asked.set()

    async def ticker() -> None:
        seen.append("ticker started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("ticker cancelled")
            raise

    async def close() -> None:
        seen.append("closed")

    app = build_service(
        service="test",
        version="0",
        settings=CommonSettings(database_url=database_url),
        engine=engine,
        owns_engine=True,
        readiness_table="eventstore.events",
        routers=[],
        background=[Background("watcher", watcher, stop_watcher), Background("ticker", ticker)],
        closers=[close],
    )
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0.05)
        assert sorted(seen) == ["ticker started", "watcher started"]
        async with engine.connect():
            pass
        assert engine.pool.checkedin() == 1
    assert seen[2:] == [
        "watcher asked to stop",
        "watcher finished its round",
        "ticker cancelled",
        "closed",
    ]
    assert engine.pool.checkedin() == 0  # disposed of: the engine was the service's own


async def test_only_a_consuming_service_checks_the_broker_and_serves_dead_letters(
    database_url: str, engine: AsyncEngine
) -> None:
    settings = CommonSettings(database_url=database_url, amqp_url=_closed_amqp_url())
    common = {
        "service": "test",
        "version": "0",
        "settings": settings,
        "engine": engine,
        "owns_engine": False,
        "readiness_table": "eventstore.events",
        "routers": [],
    }
    serving = build_service(**common)  # type: ignore[arg-type]
    consuming = build_service(
        **common,  # type: ignore[arg-type]
        consuming=Consuming([_consumer(settings, engine)], enabled=False),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=serving), base_url="http://s"
    ) as client:
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"database": "ok"})
        assert "/v1/dead-letters" not in (await client.get("/openapi.json")).json()["paths"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=consuming), base_url="http://c"
    ) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["broker"].startswith("unavailable")
        assert "/v1/dead-letters" in (await client.get("/openapi.json")).json()["paths"]
    assert consuming.state.consumers[0].name == "builder-test"
    assert consuming.state.engine is engine
