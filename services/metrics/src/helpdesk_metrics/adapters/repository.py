"""The metrics projection in PostgreSQL: the facts folded from the tickets' and calls' events.

Every method runs on the caller's connection, inside the caller's transaction: the consumer's
(with its inbox claim) or the replay's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import RowMapping, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.tables import call_facts, ticket_facts
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import Status, TicketFacts

_TICKET_FIELDS = [f.name for f in dataclasses.fields(TicketFacts)]
_CALL_FIELDS = [f.name for f in dataclasses.fields(CallFacts)]


class FactsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_stream(self, stream_id: str) -> None:
        """Serialise the projection of one stream across replicas until the transaction ends."""
        await self._conn.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(stream_id, 0)))
        )

    async def ticket(self, ticket_id: str) -> TicketFacts | None:
        statement = select(ticket_facts).where(ticket_facts.c.ticket_id == ticket_id)
        row = (await self._conn.execute(statement)).mappings().first()
        return None if row is None else ticket_of(row)

    async def call(self, call_id: str) -> CallFacts | None:
        statement = select(call_facts).where(call_facts.c.call_id == call_id)
        row = (await self._conn.execute(statement)).mappings().first()
        return None if row is None else CallFacts(**row)

    async def save(self, facts: TicketFacts | CallFacts) -> None:
        """Insert or update one ticket's or call's facts; never replace them by older ones.

        The guard on `last_version` keeps the facts moving forward only, whatever two writers
        that were not serialised (a replica and a replay, say) commit last.
        """
        table, values = (
            (ticket_facts, _ticket_row(facts))
            if isinstance(facts, TicketFacts)
            else (call_facts, {name: getattr(facts, name) for name in _CALL_FIELDS})
        )
        key = table.primary_key.columns.values()[0].name
        statement = insert(table).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[key],
            set_={name: statement.excluded[name] for name in values if name != key},
            where=table.c.last_version < statement.excluded.last_version,
        )
        await self._conn.execute(statement)

    async def load(self, tickets: Sequence[TicketFacts], calls: Sequence[CallFacts]) -> None:
        """Bulk-load facts into the tables `clear` emptied (the replay), by COPY."""
        raw = await self._conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            "ticket_facts",
            schema_name="metrics",
            columns=_TICKET_FIELDS,
            records=[_ticket_values(t) for t in tickets],
        )
        await driver.copy_records_to_table(
            "call_facts",
            schema_name="metrics",
            columns=_CALL_FIELDS,
            records=[tuple(getattr(c, f) for f in _CALL_FIELDS) for c in calls],
        )

    async def clear(self) -> None:
        """Forget everything (the replay starts from scratch); waits for in-flight handlers."""
        await self._conn.execute(
            text("LOCK TABLE metrics.ticket_facts, metrics.call_facts IN ACCESS EXCLUSIVE MODE")
        )
        await self._conn.execute(text("TRUNCATE metrics.ticket_facts, metrics.call_facts"))


def ticket_of(row: RowMapping) -> TicketFacts:
    return TicketFacts(**{**row, "status": Status(row["status"])})


def _ticket_row(facts: TicketFacts) -> dict[str, Any]:
    return dict(zip(_TICKET_FIELDS, _ticket_values(facts), strict=True))


def _ticket_values(facts: TicketFacts) -> tuple[Any, ...]:
    """Column values in table order (`status` as its text)."""
    return tuple(
        facts.status.value if name == "status" else getattr(facts, name) for name in _TICKET_FIELDS
    )
