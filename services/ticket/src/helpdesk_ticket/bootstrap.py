"""Wires the ticket service: engine, event store, policy, routes and background tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.app import create_app
from helpdesk_ticket.application.tickets import Clock, TicketService, utc_now
from helpdesk_ticket.entrypoints import tickets_http
from helpdesk_ticket.entrypoints.errors import install_error_handlers
from helpdesk_ticket.settings import Settings

VERSION = "0.1.0"


def build_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The ticket app. Tests pass their own engine and clock; the lifespan runs the projection
    and the SLA watcher when `ticket_background_tasks` is on."""
    settings = settings or Settings()
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url, application_name="helpdesk-ticket")
    store = EventStore(engine)
    tickets = TicketService(store, settings.policy(), clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owns_engine:
                await engine.dispose()

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    app = create_app(
        service="ticket",
        version=VERSION,
        settings=settings,
        routers=[tickets_http.router],
        readiness_checks={"database": database},
        lifespan=lifespan,
        description="The ticket lifecycle, event-sourced: commands, history, list, SLA.",
    )
    install_error_handlers(app)
    app.state.ticket_service = tickets
    app.state.engine = engine
    return app
