"""Wire the metrics service: engine, consumer, `/v1/kpis`, `/metrics`. Nothing at import time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_metrics
from helpdesk_metrics.adapters.projection_unit import PostgresProjection
from helpdesk_metrics.adapters.queries.facts import facts_reading
from helpdesk_metrics.adapters.queries.figures import FiguresCollector
from helpdesk_metrics.application.ports import FactsReading
from helpdesk_metrics.entrypoints import http_kpis
from helpdesk_metrics.entrypoints.consumer import build_consumer
from helpdesk_metrics.entrypoints.prometheus import refresh_on_scrape
from helpdesk_metrics.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.metrics import new_registry
from helpdesk_shared.service import Consuming, build_service

VERSION = "0.1.0"


def projection_on(engine: AsyncEngine) -> PostgresProjection:
    """The projection's units of work on PostgreSQL."""
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
    engine = engine or create_engine(
        settings.database_url,
        application_name="helpdesk-metrics",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    registry = new_registry()
    projection = projection_on(engine)
    reading: FactsReading = facts_reading(engine)
    figures = FiguresCollector(
        engine,
        calendar=settings.business_calendar(),
        window=timedelta(days=settings.metrics_window_days),
        recurrence_threshold=settings.metrics_recurrence_threshold,
        rules=settings.commitment_rules(),
        max_age=settings.metrics_scrape_cache_seconds,
        clock=clock or (lambda: datetime.now(UTC)),
    )
    registry.register(figures)

    app = build_service(
        service="metrics",
        version=VERSION,
        settings=settings,
        engine=engine,
        owns_engine=owned,
        readiness_table="metrics.ticket_facts",
        routers=[http_kpis.router],
        consuming=Consuming(
            [build_consumer(settings, engine, projection.within)],
            enabled=settings.metrics_consumer_enabled,
        ),
        registry=registry,
        description=helpdesk_metrics.__doc__ or "",
        state={"figures": figures, "facts_reading": reading},
    )
    refresh_on_scrape(app, figures)
    return app
