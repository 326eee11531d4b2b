"""Fixtures of notify's unit-of-work tests on real PostgreSQL: an engine whose units run on its
own connections or on its pool's, and a way to kill their sessions under them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine

#: The application name of the units' sessions, so that a test can find them.
UNITS_APPLICATION = "notify-units"


@pytest.fixture
def units_application() -> str:
    return UNITS_APPLICATION


@pytest.fixture(params=["own", "pooled"])
async def units_engine(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[AsyncEngine]:
    """An engine whose units run on its own connections, or (none of its own) on its pool's."""
    engine = create_engine(
        database_url,
        pool_size=2,
        application_name=UNITS_APPLICATION,
        driver_connections=2 if request.param == "own" else 0,
    )
    yield engine
    await engine.dispose()


@pytest.fixture
def terminate_units(database_url: str) -> Callable[[], None]:
    """Kills the units' sessions from another thread while this event loop is blocked, so that
    asyncpg has not yet read their goodbye: the next statement is the first to find them dead."""

    async def terminate() -> None:
        killer = create_engine(database_url, pool_size=1, driver_connections=0)
        try:
            async with killer.connect() as conn:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": UNITS_APPLICATION},
                )
        finally:
            await killer.dispose()

    def now() -> None:
        thread = threading.Thread(target=asyncio.run, args=(terminate(),))
        thread.start()
        thread.join()
        time.sleep(0.2)  # the backends are gone before this loop runs again

    return now
