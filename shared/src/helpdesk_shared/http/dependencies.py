"""How a route receives what `bootstrap.py` wired: a FastAPI dependency reading `app.state`.

One convention for every service: the bootstrap puts each part on `app.state` (through
`build_service(state=...)`), and the routes declare `Annotated[Part, from_state("name")]`
parameters, so a route never reaches into `request.app.state` itself and a test can override
the dependency.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine


def from_state(name: str) -> Any:
    """`Depends` on `app.state.<name>` (raises at the first request if the bootstrap forgot it).

    A coroutine function, so that FastAPI runs it on the event loop: a plain `def` dependency is
    run in anyio's worker threads (40 by default), one hop per part per request, which under many
    requests in flight queued for the threads and cost more CPU per request the more were in
    flight (docs/performance.md)."""

    async def provide(request: Request) -> Any:
        return getattr(request.app.state, name)

    provide.__name__ = f"app_state_{name}"
    # What the bootstrap wired reaches the database or the broker: the route may answer 503
    # (`helpdesk_shared.http.unavailable`), and its OpenAPI operation says so.
    provide.reaches_dependencies = True  # type: ignore[attr-defined]
    return Depends(provide)


#: The service's database engine (every service has one: `build_service` puts it there).
Engine = Annotated[AsyncEngine, from_state("engine")]
