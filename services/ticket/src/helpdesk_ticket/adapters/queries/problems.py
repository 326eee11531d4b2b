"""Which problem streams exist (newest first), optionally those that link one incident.

Problems are few (tens to hundreds), so they are found in the store's own table rather than in a
projection of their own; each is then rebuilt from its stream.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_ALL = text(
    """SELECT stream_id FROM eventstore.events
    WHERE stream_id LIKE 'problem-%' AND version = 1
    ORDER BY global_position DESC LIMIT :limit"""
)
_LINKING = text(
    """SELECT stream_id FROM eventstore.events
    WHERE stream_id LIKE 'problem-%' AND type = 'IncidentLinked'
      AND data->>'ticket_id' = :ticket_id
    GROUP BY stream_id ORDER BY max(global_position) DESC LIMIT :limit"""
)


async def problem_ids(
    engine: AsyncEngine, ticket_id: uuid.UUID | None = None, limit: int = 100
) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        if ticket_id is None:
            rows = (await conn.execute(_ALL, {"limit": limit})).all()
        else:
            params = {"ticket_id": str(ticket_id), "limit": limit}
            rows = (await conn.execute(_LINKING, params)).all()
    return [uuid.UUID(r.stream_id.removeprefix("problem-")) for r in rows]
