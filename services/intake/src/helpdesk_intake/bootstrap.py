"""Wire the intake service: engine, event store, routes, limits. Nothing is created at import."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_intake
from helpdesk_intake.adapters.contracts import contract_service
from helpdesk_intake.adapters.knowledge import KnowledgeBase
from helpdesk_intake.adapters.unit_of_work import PostgresIntakeUnits
from helpdesk_intake.application.ports import IntakeUnits
from helpdesk_intake.entrypoints import (
    http_calls,
    http_categories,
    http_contracts,
    http_emails,
    http_extension_proposals,
    http_prequalification,
    http_requesters,
    http_requests,
    http_verification,
)
from helpdesk_intake.entrypoints.common import BodySizeLimit
from helpdesk_intake.entrypoints.metrics import IntakeMetrics
from helpdesk_intake.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.rate_limit import RateLimit
from helpdesk_shared.metrics import new_registry
from helpdesk_shared.service import build_service

VERSION = "0.1.0"
#: The routes open to requesters and outside systems, rate limited per caller.
PUBLIC_ROUTES = (("POST", "/v1/requests"), ("POST", http_emails.PATH), ("POST", "/v1/calls"))


def build_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    """The intake app. Tests pass their own settings and engine (an engine passed in is theirs
    to dispose of; one created here is disposed of at shutdown)."""
    settings = settings or Settings()
    owned = engine is None
    engine = engine or create_engine(
        settings.database_url,
        application_name="helpdesk-intake",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )

    knowledge = KnowledgeBase(
        settings.intake_ticket_url,
        settings.intake_suggestions_timeout_seconds,
        pause_seconds=settings.intake_suggestions_pause_seconds,
    )
    registry = new_registry()
    store = EventStore(engine)
    units = PostgresIntakeUnits(engine, store)
    intake_units: IntakeUnits = units

    app = build_service(
        service="intake",
        version=VERSION,
        settings=settings,
        engine=engine,
        owns_engine=owned,
        readiness_table="intake.reference_counters",
        routers=[
            http_requests.router,
            http_verification.router,
            http_prequalification.router,
            http_requesters.router,
            http_contracts.router,
            http_extension_proposals.router,
            http_calls.router,
            http_emails.router,
            http_categories.router,
        ],
        closers=[knowledge.close],
        freeze_heap=True,
        registry=registry,
        description=helpdesk_intake.__doc__ or "",
        extra_problems=_middleware_problems,
        state={
            "event_store": store,
            "intake_units": intake_units,
            "intake_unit_within": units.within,
            "intake_openings": units.openings(),
            "contracts": contract_service(store),
            "knowledge_base": knowledge,
            "opening_slots": asyncio.Semaphore(settings.intake_openings_in_flight),
            "intake_metrics": IntakeMetrics(registry),
        },
    )
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.intake_max_body_bytes,
        limits={http_emails.PATH: settings.intake_max_email_bytes},
    )
    app.add_middleware(
        RateLimit,
        routes=PUBLIC_ROUTES,
        public=settings.public_rate(),
        staff=settings.staff_rate(),
        verifier=app.state.token_verifier,
    )
    return app


def _middleware_problems(path: str, methods: Collection[str]) -> set[int]:
    """What this service's middlewares answer besides the route: 413 for a body over the
    limit (every write), 429 on the rate-limited public routes."""
    statuses = {413} if set(methods) - {"GET", "HEAD", "DELETE"} else set()
    if any((method, path) in PUBLIC_ROUTES for method in methods):
        statuses.add(429)
    return statuses
