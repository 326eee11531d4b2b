"""Wire the metrics service: engine, consumer, `/v1/kpis`, `/metrics`. Nothing at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_metrics
from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.application.ports import FactsReading
from helpdesk_metrics.entrypoints import http
from helpdesk_metrics.entrypoints.consumer import CONSUMER_NAME, build_consumer
from helpdesk_metrics.entrypoints.prometheus import FiguresCollector
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.serve import database_check
from helpdesk_shared.messaging.dead_letters import dead_letter_router

VERSION = "0.1.0"

log = logging.getLogger(__name__)


def projection_on(engine: AsyncEngine) -> PostgresProjection:
    """The projection's units of work and fact readers on PostgreSQL."""
    return PostgresProjection(engine)


def build_app(
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The metrics app; its lifespan runs the consumer unless `metrics_consumer_enabled` is off.

    Tests pass their own settings and engine (theirs to dispose of) and may fix the clock.
    """
    settings = settings or Settings()
    owned = engine is None
    engine = engine or create_engine(settings.database_url, application_name="helpdesk-metrics")
    registry = CollectorRegistry()
    projection = projection_on(engine)
    consumer = build_consumer(settings, engine, projection.within)
    figures = FiguresCollector(
        engine,
        calendar=settings.business_hours(),
        window=timedelta(days=settings.metrics_window_days),
        recurrence_threshold=settings.metrics_recurrence_threshold,
        max_age=settings.metrics_scrape_cache_seconds,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    registry.register(figures)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        starting = None
        if settings.metrics_consumer_enabled:
            starting = asyncio.create_task(consumer.start_when_broker_answers())
        try:
            yield
        finally:
            if starting is not None:
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
            await consumer.stop()
            if owned:
                await engine.dispose()

    async def broker() -> None:
        if settings.metrics_consumer_enabled:
            await consumer.ready()
            return
        connection = await aio_pika.connect(settings.amqp_url, timeout=3)
        await connection.close()

    app = create_app(
        service="metrics",
        version=VERSION,
        settings=settings,
        routers=[
            http.router,
            dead_letter_router(
                amqp_url=settings.amqp_url,
                queue_prefix=settings.helpdesk_queue_prefix,
                consumers=(CONSUMER_NAME,),
            ),
        ],
        readiness_checks={
            "database": database_check(engine, "metrics.ticket_facts"),
            "broker": broker,
        },
        lifespan=lifespan,
        registry=registry,
        description=helpdesk_metrics.__doc__ or "",
    )

    @app.middleware("http")
    async def fresh_figures(
        request: Request, call_next: Callable[[Request], Awaitable[Any]]
    ) -> Any:
        """A scrape reads the facts again (at most every `metrics_scrape_cache_seconds`)."""
        if request.url.path == "/metrics":
            await figures.refresh()
        return await call_next(request)

    app.state.engine = engine
    app.state.consumer = consumer
    facts_reading: FactsReading = projection.reading
    app.state.facts_reading = facts_reading
    app.state.figures = figures
    return app
