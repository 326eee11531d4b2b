"""One shape for every service: each `bootstrap.py` wires its parts, `build_service` runs them.

The builder owns what used to be written four times: the lifespan (start the background tasks and
the consumers, stop them in order, close what the service opened, dispose of the engine it
created), `/readyz` (the service's own table always; the broker only for a service that consumes
from it), the dead-letter routes and the consumers' metrics of a consuming service, and `/metrics`
(through `create_app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.http.app import ReadinessCheck, create_app
from helpdesk_shared.http.openapi import ExtraProblems
from helpdesk_shared.http.serve import broker_check, database_check
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.consumer_metrics import ConsumerCollector
from helpdesk_shared.messaging.dead_letters import dead_letter_router
from helpdesk_shared.settings import CommonSettings

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Background:
    """A task the service runs for as long as it serves.

    `stop`, when given, asks the task to finish what it is doing (the task is then awaited);
    without it the task is cancelled at shutdown.
    """

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    stop: Closer | None = None


@dataclass(frozen=True)
class Consuming:
    """The service's consumers, and whether this process runs them (tests may turn them off:
    the dead-letter routes and the broker readiness stay, since the queues are still theirs)."""

    consumers: Sequence[Consumer]
    enabled: bool = True


def build_service(
    *,
    service: str,
    version: str,
    settings: CommonSettings,
    engine: AsyncEngine,
    owns_engine: bool,
    readiness_table: str,
    routers: Sequence[APIRouter],
    consuming: Consuming | None = None,
    background: Sequence[Background] = (),
    closers: Sequence[Closer] = (),
    freeze_heap: bool = False,
    registry: CollectorRegistry | None = None,
    description: str = "",
    state: Mapping[str, object] | None = None,
    extra_problems: ExtraProblems | None = None,
    before_scrape: Sequence[Closer] = (),
) -> FastAPI:
    """A service's app from its parts.

    `engine` is the service's database engine, disposed of at shutdown when `owns_engine` (tests
    pass their own). `readiness_table` is a table of the service's own: `/readyz` selects from it.
    `consuming` makes the service a consumer: its consumers start with the app (retrying until
    the broker answers), `/readyz` checks the broker, and the dead-letter routes serve their
    queues. `closers` run at shutdown after the tasks stopped (connections the service opened).
    `freeze_heap` moves what start-up left on the heap out of the garbage collector's sight.
    `state` is put on `app.state`, where the routes' dependencies find it (`helpdesk_shared.http.
    dependencies`). `before_scrape` measures run before each `/metrics` answer (they must not
    raise: a scrape that fails loses every other metric too).
    """
    routes = list(routers)
    if consuming is not None:
        routes.append(
            dead_letter_router(
                amqp_url=settings.amqp_url,
                queue_prefix=settings.helpdesk_queue_prefix,
                consumers=tuple(consumer.name for consumer in consuming.consumers),
                timeout=settings.helpdesk_broker_timeout_seconds,
            )
        )
    app = create_app(
        service=service,
        version=version,
        settings=settings,
        routers=routes,
        readiness_checks=_readiness(settings, engine, readiness_table, consuming),
        lifespan=_lifespan(engine, owns_engine, consuming, background, closers, freeze_heap),
        registry=registry,
        description=description,
        extra_problems=extra_problems,
    )
    app.state.engine = engine
    app.state.before_scrape = tuple(before_scrape)
    app.state.consumers = tuple(consuming.consumers) if consuming is not None else ()
    if consuming is not None:
        app.state.metrics_registry.register(ConsumerCollector(app.state.consumers))
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    return app


def _readiness(
    settings: CommonSettings, engine: AsyncEngine, table: str, consuming: Consuming | None
) -> dict[str, ReadinessCheck]:
    """The database always; the broker only for a consuming service (the others serve without
    it: what they append reaches the broker through the relay)."""
    checks = {"database": database_check(engine, table)}
    if consuming is None:
        return checks
    if not consuming.enabled:
        checks["broker"] = broker_check(settings.amqp_url)
        return checks
    consumers = tuple(consuming.consumers)

    async def broker() -> None:
        for consumer in consumers:
            await consumer.ready()

    checks["broker"] = broker
    return checks


def _lifespan(
    engine: AsyncEngine,
    owns_engine: bool,
    consuming: Consuming | None,
    background: Sequence[Background],
    closers: Sequence[Closer],
    freeze_heap: bool,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    consumers = tuple(consuming.consumers) if consuming is not None else ()
    running = consuming is not None and consuming.enabled

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        starting = [
            asyncio.create_task(c.start_when_broker_answers(), name=f"consumer-{c.name}")
            for c in (consumers if running else ())
        ]
        tasks = [(b, asyncio.create_task(b.run(), name=b.name)) for b in background]
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await _cancel(starting)
            for task_spec, task in tasks:
                if task_spec.stop is None:
                    await _cancel([task])
                else:
                    await task_spec.stop()
                    await asyncio.gather(task, return_exceptions=True)
            for consumer in consumers:
                await consumer.stop()
            for close in closers:
                await close()
            if owns_engine:
                await engine.dispose()

    return lifespan


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, routes, schemas, validators: most of the
    heap) out of the garbage collector's sight. A full collection otherwise scans it all while
    every request in flight waits (60-90 ms measured on the ticket service, against about 3 ms
    for what requests leave behind: bench/ticket/README.md). Those objects live as long as the
    process anyway."""
    gc.collect()
    gc.freeze()
