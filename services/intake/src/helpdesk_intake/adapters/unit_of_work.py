"""Intake's unit of work on PostgreSQL: the directory, the ticket index, the inbound mail record
and the event store on one connection, in one transaction.

`PostgresIntakeUnits()` opens the transaction and commits it when the block ends without error;
`within(conn)` works in a transaction the caller opened (the one that also holds a request's
`Idempotency-Key`); `alone()` works in autocommit, for an opening that writes in its numbered
append only (`OpeningUnits`). Each piece runs the statements the handlers ran on the connection
before: no round trip is added.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_intake.adapters import contracts, directory, tickets
from helpdesk_intake.application.ports import (
    EntryRead,
    InboundMail,
    IndexedTicket,
    Opening,
    OpeningUnits,
    WriteNeedsTransaction,
)
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.store import EventStore


@dataclass(frozen=True)
class PostgresDirectory:
    """The `Directory` port on `intake.requesters` and the read model of contract versions."""

    conn: AsyncConnection

    async def requester_and_contracts_by_login(self, login: str) -> EntryRead | None:
        return await directory.requester_and_contracts_by_login(self.conn, login)

    async def requester_by_email(self, email: str) -> Requester | None:
        return await directory.requester_by_email(self.conn, email)

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        return await directory.requester_by_id(self.conn, requester_id, for_update=for_update)

    async def insert_requester(self, requester: Requester) -> bool:
        return await directory.insert_requester(self.conn, requester)

    async def update_requester(
        self,
        requester: Requester,
        *,
        changes: dict[str, Any],
        changed_by: str,
        channel: str | None,
    ) -> Requester:
        return await directory.update_requester(
            self.conn, requester, changes=changes, changed_by=changed_by, channel=channel
        )

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        return await directory.delete_requester(self.conn, requester_id)

    async def contracts_held_by(self, login: str, organisation: str | None) -> list[ContractState]:
        return await contracts.held_by(self.conn, login, organisation)


@dataclass(frozen=True)
class PostgresTicketIndex:
    """The `TicketIndex` port on `intake.reference_counters` and `intake.tickets` (and the event
    store, which appends a ticket's opening in the statement that numbers it)."""

    conn: AsyncConnection
    store: EventStore

    async def open_numbered(self, opening: Opening, event: NewEvent) -> str:
        return await tickets.open_numbered(self.conn, self.store, opening, event)

    async def ticket_by_reference(self, reference: str) -> IndexedTicket | None:
        return await tickets.ticket_by_reference(self.conn, reference)

    async def ticket_by_id(self, ticket_id: uuid.UUID) -> IndexedTicket | None:
        return await tickets.ticket_by_id(self.conn, ticket_id)

    async def ticket_by_message_ids(self, message_ids: list[str]) -> IndexedTicket | None:
        return await tickets.ticket_by_message_ids(self.conn, message_ids)

    async def tickets_of_client(
        self, organisation: str | None, login: str | None, since: datetime
    ) -> list[uuid.UUID]:
        return await tickets.tickets_of_client(self.conn, organisation, login, since)


@dataclass(frozen=True)
class PostgresMailroom:
    """The `Mailroom` port on `intake.inbound_emails` and `intake.quarantine`."""

    conn: AsyncConnection

    async def claim_message(self, mail: InboundMail) -> InboundMail | None:
        return await tickets.claim_message(self.conn, mail)

    async def settle_message(self, mail: InboundMail) -> None:
        await tickets.settle_message(self.conn, mail)

    async def quarantine(
        self, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
    ) -> None:
        await tickets.quarantine(self.conn, mail_id, message_id, reason, raw)


@dataclass(frozen=True)
class StoreAppender:
    """The `EventAppender` port: the event store, read and appended to on the unit's connection."""

    store: EventStore
    conn: AsyncConnection

    async def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        return await self.store.read_stream(stream_id, conn=self.conn)

    async def append(
        self, stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
    ) -> AppendResult:
        return await self.store.append(stream_id, expected_version, events, conn=self.conn)


@dataclass(frozen=True)
class ReadingDirectory(PostgresDirectory):
    """The directory of a unit in autocommit: reads as `PostgresDirectory`; a write, or a read
    that would lock, raises `WriteNeedsTransaction` before it runs."""

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        if for_update:
            raise WriteNeedsTransaction("a requester locked for its correction")
        return await super().requester_by_id(requester_id)

    async def insert_requester(self, requester: Requester) -> bool:
        raise WriteNeedsTransaction("a requester created")

    async def update_requester(
        self, requester: Requester, *, changes: dict[str, Any], changed_by: str, channel: str | None
    ) -> Requester:
        raise WriteNeedsTransaction("a requester corrected")

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        raise WriteNeedsTransaction("a requester removed")


@dataclass(frozen=True)
class ReadingMailroom(PostgresMailroom):
    """The mailroom of a unit in autocommit: every step of it writes, so each raises."""

    async def claim_message(self, mail: InboundMail) -> InboundMail | None:
        raise WriteNeedsTransaction("an inbound mail claimed")

    async def settle_message(self, mail: InboundMail) -> None:
        raise WriteNeedsTransaction("an inbound mail settled")

    async def quarantine(
        self, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
    ) -> None:
        raise WriteNeedsTransaction("an inbound mail quarantined")


@dataclass(frozen=True)
class ReadingAppender(StoreAppender):
    """The events of a unit in autocommit: read, never appended to but by `open_numbered`."""

    async def append(
        self, stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
    ) -> AppendResult:
        raise WriteNeedsTransaction("events appended before the opening's")


@dataclass(frozen=True)
class PostgresIntakeUnit:
    directory: PostgresDirectory
    tickets: PostgresTicketIndex
    mailroom: PostgresMailroom
    events: StoreAppender


class PostgresIntakeUnits:
    """Makes intake's units of work on one engine and event store (`IntakeUnits`)."""

    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store

    def within(self, conn: AsyncConnection) -> PostgresIntakeUnit:
        """A unit in a transaction the caller opened and commits."""
        return PostgresIntakeUnit(
            PostgresDirectory(conn),
            PostgresTicketIndex(conn, self._store),
            PostgresMailroom(conn),
            StoreAppender(self._store, conn),
        )

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[PostgresIntakeUnit]:
        async with self._engine.begin() as conn:
            yield self.within(conn)

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[PostgresIntakeUnit]:
        """A unit in autocommit: reads, and the numbered append as its only write (the store
        runs it all or nothing); any other write raises `WriteNeedsTransaction` unwritten."""
        async with self._store.autocommit() as conn:
            yield PostgresIntakeUnit(
                ReadingDirectory(conn),
                PostgresTicketIndex(conn, self._store),
                ReadingMailroom(conn),
                ReadingAppender(self._store, conn),
            )

    def openings(self) -> OpeningUnits:
        """The units a request's opening runs in (`OpeningUnits`)."""
        return OpeningUnits(self.alone, self, self._engine.begin, self.within)
