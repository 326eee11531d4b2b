"""What the four services' OpenAPI documents promise front-end teams, checked without traffic:
every request body has an example, every error is problem details (no FastAPI 422 shape)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from helpdesk_shared.http.problems import PROBLEM_JSON

SERVICES = ("intake", "ticket", "notify", "metrics")


def _spec(service: str) -> dict[str, Any]:
    bootstrap = importlib.import_module(f"helpdesk_{service}.bootstrap")
    settings = importlib.import_module(f"helpdesk_{service}.settings").Settings()
    spec: dict[str, Any] = bootstrap.build_app(settings).openapi()
    return spec


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def _has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = media.get("schema", {})
    refs = [schema, *schema.get("anyOf", [])]
    for candidate in refs:
        ref = candidate.get("$ref")
        if ref and "examples" in spec["components"]["schemas"][ref.split("/")[-1]]:
            return True
    return schema.get("format") == "binary"  # raw bytes (an e-mail): nothing to exemplify


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_an_example(service: str) -> None:
    spec = _spec(service)
    missing = [
        label
        for label, operation in _operations(spec)
        for media in operation.get("requestBody", {}).get("content", {}).values()
        if not _has_example(spec, media)
    ]
    assert not missing, f"request bodies without an example: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_is_documented_as_problem_details(service: str) -> None:
    spec = _spec(service)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for label, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert list(response["content"]) == [PROBLEM_JSON], (label, status)
        if label.startswith(("GET /v1", "POST /v1", "PATCH /v1", "DELETE /v1", "PUT /v1")):
            assert {"401", "503"} <= set(operation["responses"]), label
