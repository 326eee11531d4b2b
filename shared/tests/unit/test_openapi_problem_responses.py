"""The OpenAPI document describes errors as they are answered: RFC 9457 problem details."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.problems import PROBLEM_JSON
from helpdesk_shared.settings import CommonSettings


class Form(BaseModel):
    subject: str


def test_error_responses_are_documented_as_problem_details() -> None:
    router = APIRouter()

    @router.post("/v1/things", responses={404: {"description": "No such thing"}})
    async def create(form: Form) -> dict[str, str]:
        return {"subject": form.subject}

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
    )
    spec = app.openapi()
    responses = spec["paths"]["/v1/things"]["post"]["responses"]
    for status in ("404", "422"):
        assert list(responses[status]["content"]) == [PROBLEM_JSON]
        assert responses[status]["content"][PROBLEM_JSON]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert "application/json" in responses["200"]["content"]
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    assert app.openapi() is spec  # built once
