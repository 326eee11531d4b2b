"""`/metrics`: a scrape reads the facts again before the registry is served.

The figures themselves are read and shaped by the collector the bootstrap registers
(`adapters/queries/figures.py`); this hook only asks it to refresh, through the `Figures` port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request

from helpdesk_metrics.application.ports import Figures


def refresh_on_scrape(app: FastAPI, figures: Figures) -> None:
    """A scrape of `/metrics` reads the facts again (at most every `max_age` seconds)."""

    @app.middleware("http")
    async def fresh_figures(
        request: Request, call_next: Callable[[Request], Awaitable[Any]]
    ) -> Any:
        if request.url.path == "/metrics":
            await figures.refresh()
        return await call_next(request)
