"""A service's routers added to its app as plain routes, in order, rather than included.

`FastAPI.include_router` keeps each included router as one branch of the app's route list, whose
routes are matched through it: a request walks the app's routes, then, inside the branch that
matches, its routes a second time to handle it, each router's version checked on the way. The
ticket command `POST /v1/tickets/{id}/comment` is the 17th route; that walk cost about 9 % of a
warm command's CPU under cProfile (docs/performance.md). Added as the app's own routes, a request
is matched once, against the same routes in the same order: the first that matches in full wins,
as it did across the branches, so every request reaches the endpoint it reached before and the
OpenAPI document is the same (`services/ticket/tests/unit/test_ticket_routes_flat.py`).

Only routers made of FastAPI path operations are added this way; one with anything else (mounts,
websockets, nested routers, start-up or shutdown handlers) is included as usual.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

#: What `APIRouter.add_api_route` takes and an `APIRoute` keeps, as the route resolved them
#: (its router's tags, dependencies and responses already merged in).
_OPTIONS = (
    "response_model",
    "status_code",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "methods",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "include_in_schema",
    "response_class",
    "name",
    "callbacks",
    "openapi_extra",
    "generate_unique_id_function",
    "strict_content_type",
    "max_body_size",
    "form_limits",
)


def add_routers(app: FastAPI, routers: list[APIRouter]) -> None:
    """Each router's path operations as the app's own routes, in the routers' order."""
    for router in routers:
        if _flat(router):
            for route in router.routes:
                _add(app, route)  # type: ignore[arg-type]
        else:
            app.include_router(router)


def _flat(router: APIRouter) -> bool:
    """Whether the router is only path operations (what `_add` copies exactly)."""
    return (
        not router.on_startup
        and not router.on_shutdown
        and all(type(route) is APIRoute for route in router.routes)
    )


def _add(app: FastAPI, route: APIRoute) -> None:
    options: dict[str, Any] = {name: getattr(route, name) for name in _OPTIONS}
    app.router.add_api_route(route.path, route.endpoint, **options)
