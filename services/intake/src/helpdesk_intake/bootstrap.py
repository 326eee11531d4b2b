"""Wire the intake service: engine, event store, routes, limits. Nothing is created at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import helpdesk_intake
from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.adapters.knowledge import KnowledgeBase
from helpdesk_intake.adapters.unit_of_work import PostgresIntakeUnits
from helpdesk_intake.application.ports import IntakeUnit, IntakeUnits
from helpdesk_intake.entrypoints import (
    calls,
    contracts,
    emails,
    prequalification,
    requesters,
    requests,
)
from helpdesk_intake.entrypoints.common import BodySizeLimit
from helpdesk_intake.entrypoints.metrics import IntakeMetrics
from helpdesk_intake.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.rate_limit import RateLimit
from helpdesk_shared.http.serve import broker_check, database_check

VERSION = "0.1.0"
#: The routes open to requesters and outside systems, rate limited per caller.
PUBLIC_ROUTES = (("POST", "/v1/requests"), ("POST", emails.PATH), ("POST", "/v1/calls"))


def build_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    """The intake app. Tests pass their own settings and engine (an engine passed in is theirs
    to dispose of; one created here is disposed of at shutdown)."""
    settings = settings or Settings()
    owned = engine is None
    engine = engine or create_engine(settings.database_url, application_name="helpdesk-intake")

    knowledge = KnowledgeBase(
        settings.intake_ticket_url,
        settings.intake_suggestions_timeout_seconds,
        pause_seconds=settings.intake_suggestions_pause_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_heap()
        yield
        await knowledge.close()
        if owned:
            await engine.dispose()

    app = create_app(
        service="intake",
        version=VERSION,
        settings=settings,
        routers=[
            requests.router,
            prequalification.router,
            requesters.router,
            contracts.router,
            calls.router,
            emails.router,
        ],
        readiness_checks={
            "database": database_check(engine, "intake.reference_counters"),
            "broker": broker_check(settings.amqp_url),
        },
        lifespan=lifespan,
        description=helpdesk_intake.__doc__ or "",
    )
    app.state.engine = engine
    app.state.event_store = EventStore(engine)
    units = PostgresIntakeUnits(engine, app.state.event_store)
    intake_units: IntakeUnits = units
    unit_within: Callable[[AsyncConnection], IntakeUnit] = units.within
    app.state.intake_units = intake_units
    app.state.intake_unit_within = unit_within
    app.state.contracts = contract_service(app.state.event_store)
    app.state.knowledge_base = knowledge
    app.state.intake_metrics = IntakeMetrics(app.state.metrics_registry)
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.intake_max_body_bytes,
        limits={emails.PATH: settings.intake_max_email_bytes},
    )
    app.add_middleware(
        RateLimit,
        routes=PUBLIC_ROUTES,
        public=settings.public_rate(),
        staff=settings.staff_rate(),
        verifier=app.state.token_verifier,
    )
    return app


def _freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, routes, schemas, validators: most of the
    heap) out of the garbage collector's sight, as the ticket service does: a full collection
    otherwise scans it all while every request in flight waits. Those objects live as long as
    the process anyway."""
    gc.collect()
    gc.freeze()
