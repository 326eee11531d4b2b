"""The metrics projection in PostgreSQL: the facts folded from the tickets' and calls' events.

Every method runs on the caller's connection, inside the caller's transaction: the consumer's
(with its inbox claim) or the replay's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_metrics.adapters.tables import call_facts, ticket_facts
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import Status, TicketFacts

_TICKET_FIELDS = [f.name for f in dataclasses.fields(TicketFacts)]
_CALL_FIELDS = [f.name for f in dataclasses.fields(CallFacts)]


class FactsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_streams(self, stream_ids: Sequence[str]) -> None:
        """Serialise the projection of the streams across replicas until the transaction ends,
        taking the locks in the order given (the caller sorts them), in one statement."""
        if stream_ids:
            await self._conn.execute(_LOCK_STREAMS, {"streams": list(stream_ids)})

    async def tickets_of(self, ticket_ids: Sequence[str]) -> dict[str, TicketFacts]:
        if not ticket_ids:
            return {}
        statement = select(*TICKET_COLUMNS).where(ticket_facts.c.ticket_id.in_(ticket_ids))
        tickets = map(ticket_of, await self._conn.execute(statement))
        return {facts.ticket_id: facts for facts in tickets}

    async def ticket(self, ticket_id: str) -> TicketFacts | None:
        return (await self.tickets_of([ticket_id])).get(ticket_id)

    async def calls_of(self, call_ids: Sequence[str]) -> dict[str, CallFacts]:
        if not call_ids:
            return {}
        statement = select(call_facts).where(call_facts.c.call_id.in_(call_ids))
        rows = (await self._conn.execute(statement)).mappings()
        return {row["call_id"]: CallFacts(**row) for row in rows}

    async def save(self, facts: TicketFacts | CallFacts) -> None:
        await self.save_all([facts])

    async def save_all(self, facts: Sequence[TicketFacts | CallFacts]) -> None:
        """Insert or update each ticket's or call's facts (one statement per table, the rows
        sent together); never replace them by older ones.

        The guard on `last_version` keeps the facts moving forward only, whatever two writers
        that were not serialised (a replica and a replay, say) commit last.
        """
        tickets = [_ticket_row(f) for f in facts if isinstance(f, TicketFacts)]
        calls = [
            {name: getattr(f, name) for name in _CALL_FIELDS}
            for f in facts
            if isinstance(f, CallFacts)
        ]
        for table, rows in ((ticket_facts, tickets), (call_facts, calls)):
            if rows:
                await self._conn.execute(_upsert(table), rows)

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


_LOCK_STREAMS = text(
    "SELECT count(pg_advisory_xact_lock(hashtextextended(stream, 0)))"
    " FROM unnest(CAST(:streams AS text[])) WITH ORDINALITY AS locked(stream, n)"
)


@cache
def _upsert(table: Table) -> Insert:
    """INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE the stored facts are older."""
    key = table.primary_key.columns.values()[0].name
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[key],
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name != key},
        where=table.c.last_version < statement.excluded.last_version,
    )


#: The columns of `ticket_facts` in the order of `TicketFacts`' fields, for `ticket_of`.
TICKET_COLUMNS = tuple(ticket_facts.c[name] for name in _TICKET_FIELDS)
_STATUS = _TICKET_FIELDS.index("status")


def ticket_of(row: Sequence[Any]) -> TicketFacts:
    """The facts of a row selected as `TICKET_COLUMNS`, built positionally: a report builds a
    page of them at a time, and a dict per row (`TicketFacts(**row)`) only added to its peak."""
    values = list(row)
    values[_STATUS] = Status(values[_STATUS])
    return TicketFacts(*values)


def _ticket_row(facts: TicketFacts) -> dict[str, Any]:
    return dict(zip(_TICKET_FIELDS, _ticket_values(facts), strict=True))


def _ticket_values(facts: TicketFacts) -> tuple[Any, ...]:
    """Column values in table order (`status` as its text)."""
    return tuple(
        facts.status.value if name == "status" else getattr(facts, name) for name in _TICKET_FIELDS
    )
