"""The facts a report reads: the tickets and calls that can matter for a period.

`/v1/kpis` reads them through the `FactsReading` the bootstrap puts on the app's state, `/metrics`
on the connection of its refresh. They only read; the projection writes the same tables
(`adapters/repository.py`, whose row mapping they share).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_metrics.adapters.repository import TICKET_COLUMNS, ticket_of
from helpdesk_metrics.adapters.tables import call_facts, ticket_facts
from helpdesk_metrics.application.ports import FactsReading
from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Period
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.recurring import ProblemCandidate, ranked

#: Tickets a page of `ticket_pages` holds: about 0.5 MiB of facts in Python.
PAGE_SIZE = 1000

_t = ticket_facts.c


class FactsQueries:
    """The facts, read on the caller's connection."""

    def __init__(self, conn: AsyncConnection, page_size: int = PAGE_SIZE) -> None:
        self._conn = conn
        self._page_size = page_size

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
        statement = _kept(
            select(*TICKET_COLUMNS), received_before, open_at_or_after, group, channel
        )
        return [ticket_of(row) for row in await self._conn.execute(statement)]

    async def ticket_pages(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> AsyncIterator[list[TicketFacts]]:
        """The same tickets as `tickets`, `page_size` at a time in `ticket_id` order.

        Keyset pages, each a statement of its own: no server-side cursor, hence no transaction
        held open while the caller folds a page. Each ticket comes once, as it stood when its
        page was read. The caller should drop a page before asking for the next one.
        """
        kept = _kept(select(*TICKET_COLUMNS), received_before, open_at_or_after, group, channel)
        after: str | None = None
        while True:
            statement = kept.order_by(_t.ticket_id).limit(self._page_size)
            if after is not None:
                statement = statement.where(_t.ticket_id > after)
            page = [ticket_of(row) for row in await self._conn.execute(statement)]
            if page:
                yield page
            if len(page) < self._page_size:
                return
            after = page[-1].ticket_id
            del page  # not two pages at once: the next one is read without this one

    async def recurring(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        window: Period,
        threshold: int,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[ProblemCandidate]:
        """`recurring_incidents` over the same tickets, grouped by PostgreSQL: only the groups
        that recur come back, with their references."""
        if threshold < 2:
            raise ValueError("a recurrence needs at least two incidents")
        scopes = [
            _incident_groups(scope, column, window, threshold)
            for scope, column in (("asset", _t.asset_tag), ("department", _t.department))
        ]
        bounded = [_kept(s, received_before, open_at_or_after, group, channel) for s in scopes]
        rows = await self._conn.execute(union_all(*bounded))
        return ranked(
            ProblemCandidate(
                category=row.category,
                scope=row.scope,
                key=row.key,
                incidents=int(row.incidents),
                references=tuple(row.refs),
                first_at=row.first_at,
                last_at=row.last_at,
            )
            for row in rows
        )

    async def calls(self, offered_from: datetime, offered_before: datetime) -> list[CallFacts]:
        statement = select(call_facts).where(
            call_facts.c.offered_at >= offered_from, call_facts.c.offered_at < offered_before
        )
        rows = (await self._conn.execute(statement)).mappings().all()
        return [CallFacts(**row) for row in rows]


def _kept(
    statement: Select[Any],
    received_before: datetime,
    open_at_or_after: datetime,
    group: str | None,
    channel: str | None,
) -> Select[Any]:
    """Only the tickets a report over a period ending at `received_before` can need."""
    statement = statement.where(
        _t.received_at < received_before,
        or_(_t.closed_at.is_(None), _t.closed_at >= open_at_or_after),
    )
    if group is not None:
        statement = statement.where(_t.group == group)
    if channel is not None:
        statement = statement.where(_t.channel == channel)
    return statement


def _incident_groups(scope: str, key: Any, window: Period, threshold: int) -> Select[Any]:
    """The incidents received in `window` sharing a category and `key` (an asset, a department),
    in groups of `threshold` or more: the same selection as `recurring_incidents`. References
    are ordered by reception, then by code point (`COLLATE "C"`, as Python compares text)."""
    reference = _t.reference.collate("C")
    return (
        select(
            _t.category.label("category"),
            literal(scope, String).label("scope"),
            key.label("key"),
            func.count().label("incidents"),
            func.array_agg(aggregate_order_by(_t.reference, _t.received_at, reference)).label(
                "refs"
            ),
            func.min(_t.received_at).label("first_at"),
            func.max(_t.received_at).label("last_at"),
        )
        .where(
            _t.type == "incident",
            _t.category.is_not(None),
            key.is_not(None),
            key != "",
            _t.received_at >= window.start,
            _t.received_at < window.end,
        )
        .group_by(_t.category, key)
        .having(func.count() >= threshold)
    )


def facts_reading(engine: AsyncEngine) -> FactsReading:
    """Opens a read of the facts on a connection of its own, in autocommit: no transaction is
    kept open while the caller computes its report from them. A KPI report over a large desk
    takes seconds of Python between and after its reads; in a transaction, the server's
    `idle_in_transaction_session_timeout` (30 s, `helpdesk_shared.db`) ended the connection
    under it (a 500 from `/v1/kpis` at a million events, `bench.growth`)."""

    @asynccontextmanager
    async def reading() -> AsyncIterator[FactsQueries]:
        async with engine.connect() as conn:
            yield FactsQueries(await conn.execution_options(isolation_level="AUTOCOMMIT"))

    return reading
