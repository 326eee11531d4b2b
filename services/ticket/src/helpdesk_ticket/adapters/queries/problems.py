"""Which problem streams exist (newest first), optionally those that link one incident; and which
of their incidents a caller may read.

Problems are few (tens to hundreds), so they are found in the store's own table rather than in a
projection of their own, through an index holding only their events (`events_problem_streams`,
migration `ticket_0004`: without it a page of problems read the whole log); each is then rebuilt
from its stream. Their incidents are shown only
as far as the caller reads them, decided by the ticket list's projection (each ticket's current
group), in one query for a whole page of problems rather than a stream load per incident.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_ticket.adapters.queries.tickets import readable_condition

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


async def readable_incidents(
    engine: AsyncEngine,
    incidents: Iterable[uuid.UUID],
    reader: str | None,
    reader_groups: tuple[str, ...] = (),
) -> frozenset[uuid.UUID]:
    """Those of `incidents` that `reader` may read (all of them when `reader` is None), as the
    ticket list shows them: its own tickets and those whose current group is one of
    `reader_groups`. A ticket not yet in the projection is not shown until it is: the list
    follows the same lag, and hiding errs on the safe side."""
    wanted = list(dict.fromkeys(incidents))
    if reader is None or not wanted:
        return frozenset(wanted)
    condition, params = readable_condition(reader, reader_groups)
    sql = text(
        f"""SELECT ticket_id FROM ticket.tickets
        WHERE ticket_id = ANY(:incidents) AND {condition}"""  # noqa: S608 - fixed clauses
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sql, {**params, "incidents": wanted})).all()
    return frozenset(r.ticket_id for r in rows)
