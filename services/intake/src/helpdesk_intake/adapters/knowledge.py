"""The knowledge base's suggestions for a new request, asked of the ticket service over HTTP.

Intake does not read the ticket service's tables: it calls `POST /v1/articles/suggestions` with
the caller's own token (a requester gets FAQ entries, an agent every published scenario) and a
short timeout. Suggestions are a help, never a condition: when the ticket service is slow, down
or refuses, the request is opened all the same and the answer carries no suggestion.

When the ticket service cannot be reached (refused, timed out), intake stops asking it for a
short pause: each opening would otherwise pay a failed connection (about 1 ms of CPU, a warning
line) or, when it is slow, the whole timeout, while it is down.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)


class KnowledgeBase:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float,
        *,
        pause_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_seconds, transport=transport
        )
        self.pause_seconds = pause_seconds
        self.clock = clock
        #: Until when (`clock`) the ticket service is not asked, after it could not be reached.
        self.paused_until = float("-inf")

    async def close(self) -> None:
        await self.client.aclose()

    async def suggestions(
        self,
        authorization: str | None,
        text: str,
        *,
        category: str | None,
        ticket_id: uuid.UUID,
    ) -> list[dict[str, Any]]:
        """The best-matching published articles, or none when they cannot be had quickly."""
        if not authorization or self.clock() < self.paused_until:
            return []
        body = {
            "text": text[:20_000],
            "category": category,
            "ticket_id": str(ticket_id),
            "context": "intake",
        }
        try:
            answer = await self.client.post(
                "/v1/articles/suggestions", json=body, headers={"Authorization": authorization}
            )
        except httpx.TransportError as error:
            self.paused_until = self.clock() + self.pause_seconds
            log.warning(
                "no article suggestions for %.0f s: ticket service unreachable (%s)",
                self.pause_seconds,
                error.__class__.__name__,
            )
            return []
        except httpx.HTTPError as error:
            log.warning("no article suggestions: %s", error.__class__.__name__)
            return []
        if answer.status_code != 200:
            log.warning("no article suggestions: ticket service answered %s", answer.status_code)
            return []
        found = answer.json()
        return [_suggestion(a) for a in found] if isinstance(found, list) else []


def _suggestion(article: dict[str, Any]) -> dict[str, Any]:
    """What the requester's answer shows of an article (the rest is one GET away)."""
    keep = ("id", "title", "symptom", "category", "audience", "rank")
    return {k: article.get(k) for k in keep}
