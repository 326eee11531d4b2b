"""The ticket app's routes, added flat, answer as the included routers did.

Every operation of the OpenAPI document is reached by its own path and method and lands on its
own endpoint (a concrete path for each template, an id where the template takes one, so that
`/v1/tickets/follow-up` and `/v1/tickets/{ticket_id}` stay apart), and the document is the one
the routers give when included the usual way.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

import helpdesk_shared.http.app as shared_app
from helpdesk_ticket.bootstrap import build_app
from helpdesk_ticket.settings import Settings

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/none"


def _app() -> FastAPI:
    return build_app(Settings(database_url=UNREACHABLE, ticket_background_tasks=False))


def _resolved(app: FastAPI, method: str, path: str) -> APIRoute | None:
    """The route the app's router hands the request to: the first full match, in order."""
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "root_path": ""}
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match.name == "FULL":  # Starlette's `Match.FULL`
            return route if isinstance(route, APIRoute) else None
    return None


def _concrete(template: str) -> str:
    """The template with each `{param}` replaced by an id no literal segment equals."""
    parts = template.split("/")
    return "/".join(str(uuid.uuid4()) if p.startswith("{") else p for p in parts)


def test_every_operation_is_reached_on_its_own_endpoint() -> None:
    app = _app()
    spec = app.openapi()
    operations = [
        (path, method.upper(), op["operationId"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) >= 40
    for path, method, operation_id in operations:
        route = _resolved(app, method, _concrete(path))
        assert route is not None, (method, path)
        assert route.unique_id == operation_id, (method, path, route.path)
        assert route.path == path


def test_the_routes_are_plain_and_in_the_routers_order() -> None:
    app = _app()
    docs = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    assert all(
        isinstance(route, APIRoute) or getattr(route, "path", None) in docs
        for route in app.router.routes
    )
    paths = [route.path for route in app.router.routes if isinstance(route, APIRoute)]
    assert paths.index("/v1/tickets/follow-up") < paths.index("/v1/tickets/{ticket_id}")
    assert paths.index("/v1/problems/recurring") < paths.index("/v1/problems/{problem_id}")


def test_the_document_is_the_one_of_the_included_routers(monkeypatch: pytest.MonkeyPatch) -> None:
    flat = _app().openapi()

    def include(app: FastAPI, routers: list[APIRouter]) -> None:
        for router in routers:
            app.include_router(router)

    monkeypatch.setattr(shared_app, "add_routers", include)
    included = _app()
    assert not any(isinstance(route, APIRoute) for route in included.router.routes)
    assert included.openapi() == flat
