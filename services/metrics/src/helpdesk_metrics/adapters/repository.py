"""The metrics projection in PostgreSQL: received events and the facts folded from them.

Every method runs on the caller's connection, inside the caller's transaction: the consumer's
(with its inbox claim) or the replay's.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.tables import call_facts, events, ticket_facts
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import Status, TicketFacts
from helpdesk_metrics.domain.records import EventRecord

_TICKET_FIELDS = [f.name for f in dataclasses.fields(TicketFacts)]
_CALL_FIELDS = [f.name for f in dataclasses.fields(CallFacts)]
_EVENT_COLUMNS = ["event_id", "stream_id", "version", "type", "data", "recorded_at"]


class FactsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_stream(self, stream_id: str) -> None:
        """Serialise the projection of one stream across replicas until the transaction ends."""
        await self._conn.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(stream_id, 0)))
        )

    async def add_event(self, event_id: uuid.UUID, record: EventRecord) -> bool:
        """Keep a received event; False when it was already kept (a redelivery)."""
        statement = (
            insert(events)
            .values(event_row(event_id, record))
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(events.c.event_id)
        )
        return (await self._conn.execute(statement)).first() is not None

    async def load(
        self,
        kept: Sequence[tuple[uuid.UUID, EventRecord]],
        tickets: Sequence[TicketFacts],
        calls: Sequence[CallFacts],
    ) -> None:
        """Bulk-load events and facts into the tables `clear` emptied (the replay), by COPY."""
        raw = await self._conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            "events",
            schema_name="metrics",
            columns=_EVENT_COLUMNS,
            records=[
                (i, r.stream_id, r.version, r.type, json.dumps(r.data), r.recorded_at)
                for i, r in kept
            ],
        )
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

    async def stream_events(self, stream_id: str) -> list[EventRecord]:
        statement = (
            select(events.c.stream_id, events.c.version, events.c.type, events.c.data)
            .add_columns(events.c.recorded_at)
            .where(events.c.stream_id == stream_id)
            .order_by(events.c.version)
        )
        rows = (await self._conn.execute(statement)).all()
        return [EventRecord(r.stream_id, r.version, r.type, r.data, r.recorded_at) for r in rows]

    async def save_tickets(self, facts: Sequence[TicketFacts]) -> None:
        if facts:
            statement = insert(ticket_facts)
            statement = statement.on_conflict_do_update(
                index_elements=["ticket_id"],
                set_={name: statement.excluded[name] for name in _TICKET_FIELDS[1:]},
            )
            await self._conn.execute(statement, [_ticket_row(f) for f in facts])

    async def save_calls(self, facts: Sequence[CallFacts]) -> None:
        if facts:
            statement = insert(call_facts)
            statement = statement.on_conflict_do_update(
                index_elements=["call_id"],
                set_={name: statement.excluded[name] for name in _CALL_FIELDS[1:]},
            )
            rows = [{name: getattr(f, name) for name in _CALL_FIELDS} for f in facts]
            await self._conn.execute(statement, rows)

    async def tickets(
        self, received_before: datetime, group: str | None = None, channel: str | None = None
    ) -> list[TicketFacts]:
        """Tickets received before a moment: all a period ending then can need."""
        statement = select(ticket_facts).where(ticket_facts.c.received_at < received_before)
        if group is not None:
            statement = statement.where(ticket_facts.c.group == group)
        if channel is not None:
            statement = statement.where(ticket_facts.c.channel == channel)
        rows = (await self._conn.execute(statement)).mappings().all()
        return [TicketFacts(**{**row, "status": Status(row["status"])}) for row in rows]

    async def calls(self, offered_from: datetime, offered_before: datetime) -> list[CallFacts]:
        statement = select(call_facts).where(
            call_facts.c.offered_at >= offered_from, call_facts.c.offered_at < offered_before
        )
        rows = (await self._conn.execute(statement)).mappings().all()
        return [CallFacts(**row) for row in rows]

    async def clear(self) -> None:
        """Forget everything (the replay starts from scratch); waits for in-flight handlers."""
        await self._conn.execute(
            text(
                "LOCK TABLE metrics.events, metrics.ticket_facts, metrics.call_facts "
                "IN ACCESS EXCLUSIVE MODE"
            )
        )
        await self._conn.execute(
            text("TRUNCATE metrics.events, metrics.ticket_facts, metrics.call_facts")
        )


def event_row(event_id: uuid.UUID, record: EventRecord) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "stream_id": record.stream_id,
        "version": record.version,
        "type": record.type,
        "data": dict(record.data),
        "recorded_at": record.recorded_at,
    }


def _ticket_row(facts: TicketFacts) -> dict[str, Any]:
    return dict(zip(_TICKET_FIELDS, _ticket_values(facts), strict=True))


def _ticket_values(facts: TicketFacts) -> tuple[Any, ...]:
    """Column values in table order (`status` as its text)."""
    return tuple(
        facts.status.value if name == "status" else getattr(facts, name) for name in _TICKET_FIELDS
    )
