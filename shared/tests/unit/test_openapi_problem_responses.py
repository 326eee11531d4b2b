"""The OpenAPI document describes errors as they are answered: RFC 9457 problem details."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel

from helpdesk_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from helpdesk_shared.http.app import create_app
from helpdesk_shared.http.openapi import problem_responses
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


def test_each_route_declares_the_statuses_its_dependencies_answer() -> None:
    router = APIRouter()

    @router.get("/v1/open")
    async def open_() -> dict[str, str]:
        return {}

    @router.get("/v1/things/{thing_id}")
    async def read(thing_id: int, principal: CurrentPrincipal) -> dict[str, int]:
        return {"id": thing_id}

    @router.post("/v1/things/{thing_id}/close", responses=problem_responses(429))
    async def close(
        thing_id: int,
        form: Form,
        principal: Annotated[Principal, Depends(require_roles(Role.AGENT))],
        if_match: Annotated[str, Header()],
    ) -> dict[str, int]:
        return {"id": thing_id}

    app = create_app(
        service="test",
        version="0",
        settings=CommonSettings(),
        routers=[router],
        readiness_checks={},
        extra_problems=lambda path, methods: {413} if "POST" in methods else set(),
    )
    spec = app.openapi()
    paths = spec["paths"]

    def declared(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert declared("/v1/open", "get") == {"200"}
    assert declared("/v1/things/{thing_id}", "get") == {"200", "401", "404", "422", "503"}
    assert declared("/v1/things/{thing_id}/close", "post") == {
        "200", "400", "401", "403", "404", "409", "412", "413", "422", "428", "429", "503"
    }  # fmt: skip
    for status, response in paths["/v1/things/{thing_id}/close"]["post"]["responses"].items():
        if status != "200":
            assert response["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
            assert response["description"]
            assert "Content-Language" in response["headers"]
    responses = paths["/v1/things/{thing_id}/close"]["post"]["responses"]
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
    assert "ETag" in responses["412"]["headers"]
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert schemas["Problem"]["properties"]["errors"]["items"] == {
        "$ref": "#/components/schemas/ProblemFieldError"
    }
    assert {"field", "location", "pointer", "parameter", "message"} <= set(
        schemas["ProblemFieldError"]["properties"]
    )
