from fastapi import APIRouter, Query
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field

from helpdesk_shared.eventstore.model import ConcurrencyConflict
from helpdesk_shared.http.app import create_app
from helpdesk_shared.settings import CommonSettings


class Place(BaseModel):
    office: str = Field(max_length=5)


class Form(BaseModel):
    subject: str = Field(min_length=3)
    impact: int = Field(ge=1, le=4)
    places: list[Place] = []


def _client() -> AsyncClient:
    router = APIRouter()

    @router.post("/v1/forms")
    async def submit(form: Form) -> Form:
        return form

    @router.get("/v1/pages")
    async def pages(limit: int = Query(ge=1, le=100)) -> int:
        return limit

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


async def test_each_error_points_at_its_field_in_the_body_or_names_its_parameter() -> None:
    """RFC 9457: a JSON pointer into the body for a body field, the parameter's name otherwise."""
    async with _client() as client:
        nested = await client.post(
            "/v1/forms",
            json={
                "subject": "ok!",
                "impact": 2,
                "places": [{"office": "B-12"}, {"office": "ABCDEFG"}],
            },
        )
        query = await client.get("/v1/pages", params={"limit": 0})
    [error] = nested.json()["errors"]
    assert error["pointer"] == "#/places/1/office"
    assert error["field"] == "places.1.office"
    assert error["location"] == "body.places.1.office"
    [bad_limit] = query.json()["errors"]
    assert bad_limit["parameter"] == "limit"
    assert bad_limit["location"] == "query.limit"
    assert "pointer" not in bad_limit


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
