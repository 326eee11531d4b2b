"""Every request answers its correlation id and is counted per route template, errors included."""

from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient

from helpdesk_shared.http.app import create_app
from helpdesk_shared.logging import correlation_id
from helpdesk_shared.settings import CommonSettings


def _client() -> AsyncClient:
    router = APIRouter(prefix="/v1/things")

    @router.get("/{thing_id}")
    async def thing(thing_id: int) -> dict[str, str | None]:
        return {"thing": str(thing_id), "correlation_id": correlation_id.get()}

    @router.get("/{thing_id}/boom")
    async def boom(thing_id: int) -> None:
        raise RuntimeError("internals")

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
    )
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    )


def _count(metrics: str, route: str, status: str) -> float:
    wanted = f'method="GET",route="{route}",service="test",status="{status}"'
    for line in metrics.splitlines():
        if line.startswith("helpdesk_http_requests_total{") and wanted in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_callers_correlation_id_is_seen_by_the_route_and_answered() -> None:
    async with _client() as client:
        sent = await client.get("/v1/things/1", headers={"x-correlation-id": "corr-7"})
        fresh = await client.get("/v1/things/2")
    assert sent.headers["x-correlation-id"] == "corr-7"
    assert sent.json()["correlation_id"] == "corr-7"
    assert fresh.headers["x-correlation-id"] == fresh.json()["correlation_id"]
    assert correlation_id.get() is None  # reset once the request is answered


async def test_requests_are_counted_by_route_template_and_status() -> None:
    async with _client() as client:
        for thing_id in (1, 2, 3):
            await client.get(f"/v1/things/{thing_id}")
        await client.get("/v1/things/x")  # 422
        await client.get("/nowhere")  # 404, no route
        await client.get("/v1/things/1/boom")  # 500, raised past every handler
        metrics = (await client.get("/metrics")).text
    assert _count(metrics, "/v1/things/{thing_id}", "200") == 3
    assert _count(metrics, "/v1/things/{thing_id}", "422") == 1
    assert _count(metrics, "unmatched", "404") == 1
    assert _count(metrics, "/v1/things/{thing_id}/boom", "500") == 1
