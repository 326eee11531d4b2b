"""The OpenAPI document says which errors a route answers, and in which shape.

Every 4xx/5xx of every service is answered as RFC 9457 problem details
(`install_problem_handlers`), so the document declares each of them with
`application/problem+json` and the `Problem` schema, and FastAPI's own 422 shape
(`HTTPValidationError`) is replaced. Which statuses a route may answer is worked out once, from
what the route depends on (`problem_statuses`): a bearer token gives 401 and 503 (the identity
provider may be down), a part of the service's state (its database, its broker) 503, a role
check 403, a path parameter 404, an `If-Match` header 412 (and 428
when it is required), any input 422, a command on an existing resource 409. What the route cannot
tell by itself (a middleware's 413 or 429, a uniqueness conflict) is declared by the router with
`problem_responses(...)`, or by the service through `create_app(extra_problems=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from helpdesk_shared.http.problems import PROBLEM_JSON

#: What each status means to a client, as the document describes it.
DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request",
    401: "Bearer token missing or refused (see `WWW-Authenticate`)",
    403: "The caller's roles or scope do not allow this",
    404: "No such resource (or not visible to this caller)",
    405: "Method not allowed on this resource",
    409: "Conflicts with the resource's state (`allowed` names the commands that are)",
    412: "`If-Match` names another version than the current one (see `ETag`)",
    413: "Request body over the size limit",
    422: "Invalid input: `errors[]` names each field with a JSON pointer or parameter",
    428: "`If-Match` is required",
    429: "Too many requests from this caller (see `Retry-After`)",
    503: "A dependency (identity provider, database, broker) is down or too slow (`dependency` "
    "names it): retry after `Retry-After` seconds, with the same `Idempotency-Key`",
}

#: One entry of a validation problem's `errors` (see `problems.field_error`).
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "required": ["field", "location", "message"],
    "properties": {
        "field": {"type": "string", "description": "Dotted name of the field"},
        "location": {"type": "string", "description": "Where it was: `body.requester.email`"},
        "pointer": {"type": "string", "description": "JSON pointer into the body: `#/a/b`"},
        "parameter": {"type": "string", "description": "Name of the query/path/header parameter"},
        "message": {"type": "string"},
        "type": {"type": "string"},
    },
    "additionalProperties": True,
}

#: RFC 9457 problem details, as every error of every service is answered.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "URI of the problem type (`about:blank`)"},
        "title": {"type": "string", "description": "In the language of `Accept-Language`"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemFieldError"}},
    },
    "additionalProperties": True,
}

_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


#: Headers a problem answer carries besides `Content-Language` (which every one has).
HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {"WWW-Authenticate": _header("RFC 6750 challenge: `Bearer realm=...`")},
    412: {"ETag": _header("The resource's current version")},
    429: {"Retry-After": _header("Seconds to wait before trying again")},
    503: {"Retry-After": _header("Seconds to wait before trying again")},
}
_LANGUAGE = {"Content-Language": _header("The language of `title`: `fr` or `en`")}
#: A service's own statuses of a route, by its path and methods (`create_app(extra_problems=)`).
ExtraProblems = Callable[[str, Collection[str]], Collection[int]]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route for statuses its dependencies do not tell (413, 429, 409...)."""
    return {
        status: {"description": DESCRIPTIONS.get(status, "Error"), "content": _PROBLEM_CONTENT}
        for status in statuses
    }


def problem_statuses(route: APIRoute) -> set[int]:
    """The error statuses a route answers, from what it depends on."""
    from helpdesk_shared.auth import current_principal  # auth imports problems, not this

    statuses: set[int] = set()
    for dependant in _walk(route.dependant):
        call = dependant.call
        if call is current_principal:
            statuses |= {401, 503}
        if getattr(call, "reaches_dependencies", False):
            statuses.add(503)
        if getattr(call, "checks_roles", False):
            statuses.add(403)
        if dependant.path_params:
            statuses.add(404)
        if dependant.path_params or dependant.query_params or dependant.header_params:
            statuses.add(422)
        if dependant.body_params:
            statuses |= {400, 422}  # 400: a body that is not JSON at all
        for header in dependant.header_params:
            if header.alias.lower() == "if-match":
                statuses.add(412)
                if header.field_info.is_required():
                    statuses.add(428)
    statuses |= _read_headers_statuses(route)
    writes = bool((route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"})
    if writes and route.dependant.path_params:
        statuses.add(409)
    return statuses


def _read_headers_statuses(route: APIRoute) -> set[int]:
    """`If-Match` read by the route itself and documented in its `openapi_extra` parameters
    (rather than declared as a `Header` parameter) answers 412 all the same, 428 if required."""
    statuses: set[int] = set()
    for parameter in (route.openapi_extra or {}).get("parameters", []):
        if parameter.get("in") == "header" and str(parameter.get("name")).lower() == "if-match":
            statuses.add(412)
            if parameter.get("required"):
                statuses.add(428)
    return statuses


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def document_problems(app: FastAPI, extra: ExtraProblems | None = None) -> None:
    """Make `app.openapi()` declare every error status of every route as problem details."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        paths = schema.get("paths", {})
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            path = context.path_format or route.path_format
            methods = route.methods or set()
            statuses = problem_statuses(route)
            if extra is not None:
                statuses |= set(extra(path, methods))
            for method in methods:
                operation = paths.get(path, {}).get(method.lower())
                if operation is not None:
                    _declare(operation.setdefault("responses", {}), statuses)
        for path_item in paths.values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    if str(status)[:1] in {"4", "5"}:
                        response["content"] = _PROBLEM_CONTENT
                        headers = response.setdefault("headers", {})
                        headers.update(_LANGUAGE | HEADERS.get(int(status), {}))
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = PROBLEM_SCHEMA
        components["ProblemFieldError"] = FIELD_ERROR_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare(responses: dict[str, Any], statuses: set[int]) -> None:
    for status in sorted(statuses):
        entry = responses.setdefault(str(status), {})
        if entry.get("description") in (None, "", "Validation Error"):
            entry["description"] = DESCRIPTIONS.get(status, "Error")
