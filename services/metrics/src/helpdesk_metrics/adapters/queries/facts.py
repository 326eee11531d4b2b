"""The facts a report reads: the tickets and calls that can matter for a period.

`/v1/kpis` reads them through the `FactsReading` the bootstrap puts on the app's state, `/metrics`
on the connection of its refresh. They only read; the projection writes the same tables
(`adapters/repository.py`, whose row mapping they share).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_metrics.adapters.repository import TICKET_COLUMNS, ticket_of
from helpdesk_metrics.adapters.tables import call_facts, ticket_facts
from helpdesk_metrics.application.ports import FactsReading
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.facts import TicketFacts


class FactsQueries:
    """The facts, read on the caller's connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def tickets(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[TicketFacts]:
        """The tickets received before `received_before` and not closed before
        `open_at_or_after`: the only ones whose facts can fall in a period ending then.

        Without the second bound a report would load every ticket ever closed.
        """
        statement = select(*TICKET_COLUMNS).where(
            ticket_facts.c.received_at < received_before,
            or_(
                ticket_facts.c.closed_at.is_(None),
                ticket_facts.c.closed_at >= open_at_or_after,
            ),
        )
        if group is not None:
            statement = statement.where(ticket_facts.c.group == group)
        if channel is not None:
            statement = statement.where(ticket_facts.c.channel == channel)
        return [ticket_of(row) for row in await self._conn.execute(statement)]

    async def calls(self, offered_from: datetime, offered_before: datetime) -> list[CallFacts]:
        statement = select(call_facts).where(
            call_facts.c.offered_at >= offered_from, call_facts.c.offered_at < offered_before
        )
        rows = (await self._conn.execute(statement)).mappings().all()
        return [CallFacts(**row) for row in rows]


def facts_reading(engine: AsyncEngine) -> FactsReading:
    """Opens a read of the facts on a connection of its own, in autocommit: no transaction is
    kept open while the caller computes its report from them. A KPI report over a large desk
    takes seconds of Python after its reads; in a transaction, the server's
    `idle_in_transaction_session_timeout` (30 s, `helpdesk_shared.db`) ended the connection
    under it (a 500 from `/v1/kpis` at a million events, `bench.growth`)."""

    @asynccontextmanager
    async def reading() -> AsyncIterator[FactsQueries]:
        async with engine.connect() as conn:
            yield FactsQueries(await conn.execution_options(isolation_level="AUTOCOMMIT"))

    return reading
