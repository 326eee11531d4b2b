"""Every request's correlation id, count and duration, as a plain ASGI middleware.

A plain ASGI middleware rather than `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware`
runs the rest of the app in a task group of its own and pipes the response through memory streams,
which cost about 1 ms of a ticket command's 3.5 ms of CPU (bench/ticket/README.md). The route
label is the template of the route the router chose (`scope["route"]`, set while routing), so the
label set stays bounded and the routes are not matched a second time.
"""

from __future__ import annotations

import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk_shared.logging import correlation_id

HEADER = "x-correlation-id"
_HEADER_BYTES = HEADER.encode("latin-1")


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

        try:
            await self.app(scope, receive, answer)
        finally:
            correlation_id.reset(token)
            elapsed = time.perf_counter() - started
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            method = scope["method"]
            self._durations.labels(self._service, method, route).observe(elapsed)
            self._requests.labels(self._service, method, route, str(status)).inc()


def _sent_correlation_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _HEADER_BYTES:
            return str(value.decode("latin-1"))
    return None
