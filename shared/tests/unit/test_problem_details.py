from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field

from helpdesk_shared.eventstore.model import ConcurrencyConflict
from helpdesk_shared.http.app import create_app
from helpdesk_shared.settings import CommonSettings


class Form(BaseModel):
    subject: str = Field(min_length=3)
    impact: int = Field(ge=1, le=4)


def _client() -> AsyncClient:
    router = APIRouter()

    @router.post("/v1/forms")
    async def submit(form: Form) -> Form:
        return form

    @router.post("/v1/conflict")
    async def conflict() -> None:
        raise ConcurrencyConflict("ticket-1", 3, 4)

    @router.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async def failing_check() -> None:
        raise ConnectionError("broker down")

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={"broker": failing_check},
    )
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    )


async def test_invalid_input_names_the_field_at_fault() -> None:
    async with _client() as client:
        response = await client.post("/v1/forms", json={"subject": "ok!", "impact": 9})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["impact"]


async def test_a_concurrency_conflict_is_409() -> None:
    async with _client() as client:
        response = await client.post("/v1/conflict")
    assert response.status_code == 409
    assert "expected version 3" in response.json()["detail"]


async def test_an_unexpected_error_is_500_without_internals() -> None:
    async with _client() as client:
        response = await client.get("/v1/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text


async def test_readiness_reports_the_failing_dependency() -> None:
    async with _client() as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("unavailable")
