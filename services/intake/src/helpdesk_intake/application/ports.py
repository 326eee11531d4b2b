"""What intake's handlers need from the outside world, in intake's own words.

The handlers (`open_request`, `inbound_mail`, `requesters`) and the parts the routes are given
depend on these protocols only; `adapters/` implements them on PostgreSQL, the event store and
the ticket service, `bootstrap.py` wires the concrete ones, so the handlers run in unit tests on
in-memory fakes. Everything a handler writes goes through one `IntakeUnit`: the directory's
entries and corrections, the reference counter and ticket index, the inbound mail record and the
appended events commit together or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from helpdesk_intake.domain.contract import ContractState, ContractVersion
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent, RecordedEvent


@dataclass(frozen=True)
class EntryRead:
    """A directory entry and the contracts it holds (each with every version), read together."""

    requester: Requester
    contracts: list[ContractState]


@dataclass(frozen=True)
class IndexedTicket:
    """What intake remembers of a ticket it opened: enough to thread replies safely."""

    ticket_id: uuid.UUID
    reference: str
    requester_login: str
    requester_email: str | None


@dataclass(frozen=True)
class Opening:
    """A ticket about to be numbered: the counter it draws from (prefix, year) and its index
    entry (`ticket.reference` is ignored: the number makes it)."""

    prefix: str
    year: int
    ticket: IndexedTicket
    channel: str


@dataclass(frozen=True)
class InboundMail:
    """How one inbound message was handled (its Message-ID is the deduplication key)."""

    message_id: str
    mail_id: uuid.UUID
    disposition: str
    detail: str | None = None
    ticket_id: uuid.UUID | None = None
    from_address: str | None = None
    subject: str | None = None


class Directory(Protocol):
    """The requester directory and the contracts, as a request's opening reads and corrects
    them and the directory's own routes add, correct and remove entries."""

    async def requester_and_contracts_by_login(self, login: str) -> EntryRead | None:
        """The entry and its organisation's contracts, in one read."""
        ...

    async def requester_by_email(self, email: str) -> Requester | None: ...

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        """The entry; `for_update` holds it until the unit of work ends."""
        ...

    async def insert_requester(self, requester: Requester) -> bool:
        """Add a new entry; False when the login is already taken."""
        ...

    async def update_requester(
        self,
        requester: Requester,
        *,
        changes: dict[str, Any],
        changed_by: str,
        channel: str | None,
    ) -> Requester:
        """Write the corrected entry (next version) and its change log."""
        ...

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        """Remove the entry; False when there was none."""
        ...

    async def contracts_held_by(self, login: str, organisation: str | None) -> list[ContractState]:
        """The contracts of the organisation, and those the login holds as a person."""
        ...


class ArticleSuggestions(Protocol):
    """The knowledge base's published articles matching a new request, asked of the ticket
    service with the caller's own token: a help, never a condition (none when unavailable)."""

    async def suggestions(
        self,
        authorization: str | None,
        text: str,
        *,
        category: str | None,
        ticket_id: uuid.UUID,
    ) -> list[dict[str, Any]]: ...


class ContractVersions(Protocol):
    """The read model of contract versions that pre-qualification reads, written in the
    transaction that appends the events making them (`conn`: that unit of work's handle)."""

    async def record(
        self, conn: Any, state: ContractState, versions: Sequence[ContractVersion]
    ) -> None: ...


class TicketIndex(Protocol):
    """The reference counters and the index of the tickets intake opened."""

    async def open_numbered(self, opening: Opening, event: NewEvent) -> str:
        """Take the year's next number for the opening's prefix, index the ticket under its
        reference and append `event` as its new stream's first with that reference written
        into its data (`reference`), as one step holding the counter as briefly as the store
        can: the reference."""
        ...

    async def ticket_by_reference(self, reference: str) -> IndexedTicket | None: ...

    async def ticket_by_id(self, ticket_id: uuid.UUID) -> IndexedTicket | None: ...

    async def ticket_by_message_ids(self, message_ids: list[str]) -> IndexedTicket | None:
        """The ticket the nearest earlier message of a thread landed on."""
        ...

    async def tickets_of_client(
        self, organisation: str | None, login: str | None, since: datetime
    ) -> list[uuid.UUID]:
        """The tickets opened since `since` by the organisation's members (as the directory
        says now) or by the person `login`, oldest first."""
        ...


class Mailroom(Protocol):
    """The record of every inbound message, and the quarantine of unreadable ones."""

    async def claim_message(self, mail: InboundMail) -> InboundMail | None:
        """Record the message; the earlier handling instead if it was handed over before (a
        concurrent handling of the same Message-ID is waited for)."""
        ...

    async def settle_message(self, mail: InboundMail) -> None:
        """Write the final handling of a message claimed in this unit of work."""
        ...

    async def quarantine(
        self, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
    ) -> None: ...


class EventAppender(Protocol):
    """The event store, read and appended to in the unit of work's transaction."""

    async def read_stream(self, stream_id: str) -> Sequence[RecordedEvent]: ...

    async def append(
        self, stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
    ) -> object: ...


class IntakeUnit(Protocol):
    """One transaction of intake: what is written in it commits together or not at all."""

    @property
    def directory(self) -> Directory: ...

    @property
    def tickets(self) -> TicketIndex: ...

    @property
    def mailroom(self) -> Mailroom: ...

    @property
    def events(self) -> EventAppender: ...


#: Opens a unit of work: its transaction commits when the block ends without error.
IntakeUnits = Callable[[], AbstractAsyncContextManager[IntakeUnit]]


class GaveWay(Exception):
    """A unit without a transaction (`OpeningUnits.alone`) gave way before it wrote anything:
    it was asked to write before its last step, or a read found its connection dead (taken
    without the pool's liveness ping). The caller runs its work again in a transaction."""


@dataclass(frozen=True)
class OpeningUnits:
    """The units of work a request's opening may run in.

    `alone`: no transaction. Its reads commit nothing and its last step, the numbered append
    (`TicketIndex.open_numbered`), is one statement that stores the event, the number and the
    index row or nothing, so it needs no BEGIN and COMMIT round trips, and the counter stays
    locked for that statement only (not for a COMMIT's round trip and a turn of the event loop).
    Any earlier write (a requester created or corrected), or a read on a connection found dead,
    raises `GaveWay` first; the opening is then run again in a `transaction`. `begin` and
    `within`: a transaction the route opens itself, to claim an `Idempotency-Key` in it, and a
    unit in it."""

    alone: IntakeUnits
    transaction: IntakeUnits
    begin: Callable[[], AbstractAsyncContextManager[Any]]
    within: Callable[[Any], IntakeUnit]
