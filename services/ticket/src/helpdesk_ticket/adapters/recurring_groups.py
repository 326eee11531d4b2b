"""`ticket.recurring_groups` (one problem per group of recurring incidents) and the lookup of
tickets by reference in the list projection: the `RecurringGroups` port on PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_CLAIM = text(
    """INSERT INTO ticket.recurring_groups (category, group_key, problem_id, article_id)
    VALUES (:category, :key, :problem_id, :article_id)
    ON CONFLICT DO NOTHING RETURNING problem_id"""
)
_EXISTING = text(
    """SELECT problem_id, article_id FROM ticket.recurring_groups
    WHERE category = :category AND group_key = :key"""
)
_BY_REFERENCE = text(
    "SELECT reference, ticket_id FROM ticket.tickets WHERE reference = ANY(:references)"
)


class PostgresRecurringGroups:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def existing(self, category: str, key: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        async with self.engine.connect() as conn:
            found = (await conn.execute(_EXISTING, {"category": category, "key": key})).first()
        return (found.problem_id, found.article_id) if found else None

    async def claim(
        self,
        conn: AsyncConnection,
        category: str,
        key: str,
        problem_id: uuid.UUID,
        article_id: uuid.UUID,
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        params = {
            "category": category,
            "key": key,
            "problem_id": problem_id,
            "article_id": article_id,
        }
        if (await conn.execute(_CLAIM, params)).first() is not None:
            return None
        found = (await conn.execute(_EXISTING, params)).one()
        return found.problem_id, found.article_id

    async def ticket_ids(self, references: list[str]) -> dict[str, uuid.UUID]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_BY_REFERENCE, {"references": references})).all()
        return {r.reference: r.ticket_id for r in rows}
