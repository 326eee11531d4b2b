"""What the metrics handlers need from the outside world, in the projection's own words.

The handlers in `projection` and `queries`, and the routes, depend on these protocols only;
`adapters/` implements them on PostgreSQL and `bootstrap.py` wires the concrete ones, so the
handlers run in unit tests on in-memory fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from helpdesk_metrics.domain.calls import CallFacts
from helpdesk_metrics.domain.commitments import Period
from helpdesk_metrics.domain.facts import TicketFacts
from helpdesk_metrics.domain.records import EventRecord
from helpdesk_metrics.domain.recurring import ProblemCandidate
from helpdesk_shared.eventstore.model import LogPosition, RecordedEvent


class FactsReader(Protocol):
    """The kept facts a period's figures are computed from."""

    async def tickets(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[TicketFacts]:
        """Tickets received before `received_before` and not closed before `open_at_or_after`."""
        ...

    def ticket_pages(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        group: str | None = None,
        channel: str | None = None,
    ) -> AsyncIterator[Sequence[TicketFacts]]:
        """The same tickets as `tickets`, a page at a time, so that a report holds one page."""
        ...

    async def recurring(
        self,
        received_before: datetime,
        open_at_or_after: datetime,
        window: Period,
        threshold: int,
        group: str | None = None,
        channel: str | None = None,
    ) -> list[ProblemCandidate]:
        """`recurring_incidents` of the same tickets: the groups are counted where the facts
        are, so that a report does not keep every incident to find the few that recur."""
        ...

    async def calls(self, offered_from: datetime, offered_before: datetime) -> list[CallFacts]: ...


class FactsRepository(Protocol):
    """The facts of each ticket and call, written inside the unit of work's transaction."""

    async def lock_streams(self, stream_ids: Sequence[str]) -> None:
        """Serialise the projection of these streams until the unit of work ends (take them in
        a set order, so that two batches sharing streams do not deadlock)."""
        ...

    async def tickets_of(self, ticket_ids: Sequence[str]) -> dict[str, TicketFacts]:
        """The kept facts of these tickets, by id (the ones without facts are absent)."""
        ...

    async def calls_of(self, call_ids: Sequence[str]) -> dict[str, CallFacts]: ...

    async def save_all(self, facts: Sequence[TicketFacts | CallFacts]) -> None:
        """Insert or move forward each ticket's or call's facts (never back to older ones)."""
        ...

    async def clear(self) -> None:
        """Forget every fact (the replay starts from scratch)."""
        ...

    async def load(self, tickets: Sequence[TicketFacts], calls: Sequence[CallFacts]) -> None:
        """Bulk-load facts into the tables `clear` emptied."""
        ...


@dataclass(frozen=True)
class LogPage:
    """A page of the whole log as the rebuild folds it."""

    #: How many events the page held, of every category.
    read: int
    #: Where the page ended (read the next one after it); None for an empty page.
    end: LogPosition | None
    #: The page's events of the categories asked for, in log order, their bodies decoded.
    records: list[EventRecord]


class EventHistory(Protocol):
    """The event store, read in the unit of work's transaction."""

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]: ...

    async def read_page(
        self, after: LogPosition | None, limit: int, categories: frozenset[str]
    ) -> LogPage:
        """Up to `limit` events of the whole log after `after`, in the log's final order; only
        those of `categories` decoded (the rest are counted, not parsed)."""
        ...


class ProjectionUnit(Protocol):
    """One transaction of the projection: the facts and the store it folds them from.

    For the live consumer it is the consumer's own transaction, the one that also claims the
    event in the inbox (effect exactly once); for the replay, the rebuild's single transaction.
    """

    @property
    def facts(self) -> FactsRepository: ...

    @property
    def history(self) -> EventHistory: ...


#: Opens a read of the facts (a connection for the time of one report).
FactsReading = Callable[[], AbstractAsyncContextManager[FactsReader]]


class Figures(Protocol):
    """The figures `/metrics` serves, taken from the facts and kept for a while."""

    async def refresh(self, force: bool = False) -> None:
        """Read the facts again unless the figures are fresh; keep the old ones if that fails."""
        ...
