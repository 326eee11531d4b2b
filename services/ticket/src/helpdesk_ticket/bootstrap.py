"""Wires the ticket service: engine, event store, policy, routes and background tasks."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.eventstore.subscription import CatchUpSubscription
from helpdesk_shared.eventstore.visibility import LogVisibility
from helpdesk_shared.http.events import events_router
from helpdesk_shared.http.idempotency import PostgresIdempotencyKeys
from helpdesk_shared.metrics import StateCacheCollector, new_registry
from helpdesk_shared.service import Background, Closer, build_service
from helpdesk_ticket.adapters.article_search import PostgresArticleIndex
from helpdesk_ticket.adapters.projection import SUBSCRIPTION_NAME, TicketListProjector
from helpdesk_ticket.adapters.queries.tickets import due_for_sla_check
from helpdesk_ticket.adapters.recurring_groups import PostgresRecurringGroups
from helpdesk_ticket.adapters.snapshots import TicketSnapshots
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.application.recurring import RecurringIncidents
from helpdesk_ticket.application.sla_watcher import SlaWatcher
from helpdesk_ticket.application.tickets import Clock, TicketService, utc_now
from helpdesk_ticket.entrypoints import (
    http_articles,
    http_list,
    http_problems,
    http_recurring,
    http_tickets,
)
from helpdesk_ticket.entrypoints.errors import install_error_handlers
from helpdesk_ticket.settings import Settings

VERSION = "0.1.0"
#: The list projection waits this long after projecting some events before looking again, so
#: that under load it projects the commands of that moment together instead of one transaction
#: per command (the projection lag's goal is 200 ms at p99).
PROJECTION_SETTLE_SECONDS = 0.025


@dataclass(frozen=True)
class Components:
    """The parts `build_app` wires, for tests and command-line tools that need them directly."""

    engine: AsyncEngine
    tickets: TicketService
    projection: CatchUpSubscription
    watcher: SlaWatcher
    projector: TicketListProjector


def build_components(
    settings: Settings, engine: AsyncEngine | None = None, clock: Clock = utc_now
) -> Components:
    engine = engine or create_engine(
        settings.database_url,
        application_name="helpdesk-ticket",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    store = EventStore(engine)
    policy = settings.policy()
    tickets = TicketService(
        store,
        policy,
        clock,
        TicketSnapshots(engine),
        PostgresIdempotencyKeys(),
        cache_size=settings.ticket_state_cache_size,
    )
    projector = TicketListProjector(store, policy, settings.ticket_state_cache_size)
    projection = CatchUpSubscription(
        store, SUBSCRIPTION_NAME, projector, settle_seconds=PROJECTION_SETTLE_SECONDS
    )
    tickets.aggregates.appended = projection.wake

    async def due(now: datetime) -> list[uuid.UUID]:
        return await due_for_sla_check(engine, now)

    watcher = SlaWatcher(tickets, due, settings.ticket_sla_watch_seconds)
    return Components(engine, tickets, projection, watcher, projector)


def build_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The ticket app. Tests pass their own engine and clock; the lifespan runs the list
    projection and the SLA watcher when `ticket_background_tasks` is on."""
    settings = settings or Settings()
    owns_engine = engine is None
    parts = build_components(settings, engine, clock)

    # Stopped in this order: the watcher first, so that what it appends last is projected.
    background = (
        [
            Background("sla-watcher", parts.watcher.run, _stopping(parts.watcher)),
            Background("ticket-list-projection", parts.projection.run, parts.projection.stop),
        ]
        if settings.ticket_background_tasks
        else []
    )
    store = parts.tickets.store
    problems = ProblemService(store, parts.tickets, PostgresIdempotencyKeys(), clock)
    articles = ArticleService(
        store, parts.tickets, PostgresArticleIndex(parts.engine), clock, PostgresIdempotencyKeys()
    )
    # The ticket service serves the log (`GET /v1/events`): its /metrics tells how far the log's
    # readers are held back by long transactions on the cluster, measured at each scrape.
    registry = new_registry()
    visibility = LogVisibility(parts.engine, registry)
    app = build_service(
        service="ticket",
        version=VERSION,
        settings=settings,
        engine=parts.engine,
        owns_engine=owns_engine,
        readiness_table="ticket.tickets",
        # The list router first: `/v1/tickets/follow-up` is not a ticket id.
        # `/v1/problems/recurring` and `/v1/articles/faq` before the routes taking an id.
        routers=[
            http_list.router,
            http_tickets.router,
            http_articles.drafting,
            http_recurring.router,
            http_problems.router,
            http_articles.router,
            events_router(store, settings.relay_source),
        ],
        background=background,
        registry=registry,
        before_scrape=[visibility.measure_or_keep],
        freeze_heap=True,
        description="The ticket lifecycle, event-sourced: commands, history, list, SLA.",
        extra_problems=_checked_in_handlers,
        state={
            "ticket_service": parts.tickets,
            "problem_service": problems,
            "article_service": articles,
            "recurring_incidents": RecurringIncidents(
                problems, articles, PostgresRecurringGroups(parts.engine)
            ),
            "components": parts,
        },
    )
    install_error_handlers(app)
    app.state.metrics_registry.register(
        StateCacheCollector(
            {
                "ticket": parts.tickets.aggregates.states,
                "problem": problems.aggregates.states,
                "article": articles.aggregates.states,
                "ticket-list": parts.projector.states,
            }
        )
    )
    return app


def _stopping(watcher: SlaWatcher) -> Closer:
    async def stop() -> None:
        watcher.stop()

    return stop


def _checked_in_handlers(path: str, methods: Collection[str]) -> set[int]:
    """Who may do what is decided by the ticket's rules in the handlers (`Forbidden`, 403),
    not by a route dependency, so every route of the API may answer 403."""
    return {403} if path.startswith("/v1/") else set()
