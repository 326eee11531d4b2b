"""The FastAPI application every service starts from: health, readiness, metrics, problems."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from helpdesk_shared.auth import TokenVerifier
from helpdesk_shared.http.observe import Observe
from helpdesk_shared.http.openapi import ExtraProblems, document_problems
from helpdesk_shared.http.problems import install_problem_handlers
from helpdesk_shared.http.routes import add_routers
from helpdesk_shared.http.unavailable import install_unavailability_handlers
from helpdesk_shared.metrics import new_registry
from helpdesk_shared.settings import CommonSettings
from helpdesk_shared.telemetry import configure_tracing

ReadinessCheck = Callable[[], Awaitable[None]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    *,
    service: str,
    version: str,
    settings: CommonSettings,
    routers: Sequence[APIRouter],
    readiness_checks: dict[str, ReadinessCheck],
    lifespan: Lifespan | None = None,
    registry: CollectorRegistry | None = None,
    description: str = "",
    extra_problems: ExtraProblems | None = None,
) -> FastAPI:
    """A service's app. `readiness_checks` name each dependency `/readyz` must reach;
    `extra_problems` names the error statuses of a route its dependencies do not tell (those of
    a middleware: see `helpdesk_shared.http.openapi`).

    Services are built with `helpdesk_shared.service.build_service`, which calls this. Tracing
    is configured here, once per process, from the `OTEL_*` variables (`helpdesk_shared.
    telemetry`)."""
    configure_tracing(service)
    app = FastAPI(
        title=f"helpdesk {service}",
        version=version,
        description=description,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    app.state.metrics_registry = registry or new_registry()
    #: Measures run before each `/metrics` answer (gauges read from the database at scrape time).
    app.state.before_scrape = ()
    install_problem_handlers(app)
    install_unavailability_handlers(app, settings.helpdesk_retry_after_seconds)
    document_problems(app, extra_problems)
    _install_observability(app, service)
    add_routers(app, [_operations_router(readiness_checks), *routers])
    return app


def _operations_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="What the service needs to serve is reachable")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as error:  # noqa: BLE001 - any failure means "not ready", reported
                results[name] = f"unavailable: {type(error).__name__}: {error}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        registry: CollectorRegistry = request.app.state.metrics_registry
        for measure in request.app.state.before_scrape:
            await measure()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _install_observability(app: FastAPI, service: str) -> None:
    registry: CollectorRegistry = app.state.metrics_registry
    requests = Counter(
        "helpdesk_http_requests_total",
        "HTTP requests handled",
        ["service", "method", "route", "status"],
        registry=registry,
    )
    durations = Histogram(
        "helpdesk_http_request_duration_seconds",
        "HTTP request duration",
        ["service", "method", "route"],
        registry=registry,
    )

    app.add_middleware(Observe, service=service, requests=requests, durations=durations)
