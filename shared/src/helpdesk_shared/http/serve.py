"""Running a service: one way to start uvicorn, and the readiness checks every service needs."""

from __future__ import annotations

import aio_pika
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.http.app import ReadinessCheck
from helpdesk_shared.logging import configure_logging
from helpdesk_shared.settings import CommonSettings


def serve(service: str, app: FastAPI, settings: CommonSettings, host: str, port: int) -> None:
    """Serve `app` with JSON logs (uvicorn's own log config would replace them)."""
    configure_logging(service, settings.log_level, settings.log_json)
    uvicorn.run(app, host=host, port=port, log_config=None)


def database_check(engine: AsyncEngine, table: str) -> ReadinessCheck:
    """Ready when the service's own table answers (the database is up and migrated)."""
    probe = text(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 - a constant of the service

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(probe)

    return database


def broker_check(amqp_url: str, timeout: float = 3.0) -> ReadinessCheck:
    """Ready when the broker accepts a connection (a consuming service whose consumers this
    process does not run)."""

    async def broker() -> None:
        connection = await aio_pika.connect(amqp_url, timeout=timeout)
        await connection.close()

    return broker
