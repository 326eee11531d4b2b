"""Every request's correlation id, count, duration and trace span, as a plain ASGI middleware.

A plain ASGI middleware rather than `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware`
runs the rest of the app in a task group of its own and pipes the response through memory streams,
which cost about 1 ms of a ticket command's 3.5 ms of CPU (bench/ticket/README.md). The route
label is the template of the route the router chose (`scope["route"]`, set while routing), so the
label set stays bounded and the routes are not matched a second time.

The correlation id (the caller's or a new one) is the one the request's logs carry and the one
its appended events record (`eventstore.model.in_context`). When tracing is on, the request is a
server span, a child of the caller's `traceparent` header if it sent one.
"""

from __future__ import annotations

import time
import uuid
from contextlib import AbstractContextManager

from opentelemetry.trace import Span, StatusCode
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk_shared.logging import correlation_id
from helpdesk_shared.telemetry import TRACE_KEYS, SpanKind, context_from, span, tracing

HEADER = "x-correlation-id"
_HEADER_BYTES = HEADER.encode("latin-1")
_TRACE_HEADERS = frozenset(key.encode("latin-1") for key in TRACE_KEYS)


class Observe:
    """Sets the correlation id (the caller's `x-correlation-id` or a new one) for the request's
    logs and answers it in the same header; counts requests and times them per route."""

    def __init__(
        self, app: ASGIApp, *, service: str, requests: Counter, durations: Histogram
    ) -> None:
        self.app = app
        self._service = service
        self._requests = requests
        self._durations = durations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = _sent_correlation_id(scope) or str(uuid.uuid4())
        token = correlation_id.set(cid)
        started = time.perf_counter()
        status = 500  # unless a response starts: an error escaping the app is answered 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = cid
            await send(message)

        method = scope["method"]
        route = "unmatched"
        try:
            with _server_span(scope, cid) as server:
                try:
                    await self.app(scope, receive, answer)
                finally:
                    route = str(getattr(scope.get("route"), "path", "unmatched"))
                    if server is not None:
                        server.update_name(f"{method} {route}")
                        server.set_attribute("http.route", route)
                        server.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            server.set_status(StatusCode.ERROR)
        finally:
            correlation_id.reset(token)
            elapsed = time.perf_counter() - started
            self._durations.labels(self._service, method, route).observe(elapsed)
            self._requests.labels(self._service, method, route, str(status)).inc()


def _sent_correlation_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_BYTES:
            return str(value.decode("latin-1"))
    return None


def _server_span(scope: Scope, cid: str) -> AbstractContextManager[Span | None]:
    """The request's server span, continuing the caller's trace (no cost when not tracing)."""
    if not tracing():
        return span("")
    sent = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _TRACE_HEADERS
    }
    attributes = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "correlation_id": cid,
    }
    return span(
        scope["method"], kind=SpanKind.SERVER, parent=context_from(sent), attributes=attributes
    )
