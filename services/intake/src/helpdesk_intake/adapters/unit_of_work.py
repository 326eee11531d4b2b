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
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_intake.adapters import contracts, directory, tickets
from helpdesk_intake.application.ports import (
    EntryRead,
    GaveWay,
    InboundMail,
    IndexedTicket,
    Opening,
    OpeningUnits,
)
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.requesters import Requester
from helpdesk_shared.db import unpinged
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
)
from helpdesk_shared.eventstore.store import EventStore

_T = TypeVar("_T")


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
    """The directory of a unit in autocommit: reads as `PostgresDirectory`, and gives way
    (`GaveWay`) at a write, a read that would lock, or a read that finds the connection dead:
    its checkout skipped the pool's ping, and nothing was written yet."""

    async def requester_and_contracts_by_login(self, login: str) -> EntryRead | None:
        return await _read(super().requester_and_contracts_by_login(login))

    async def requester_by_email(self, email: str) -> Requester | None:
        return await _read(super().requester_by_email(email))

    async def requester_by_id(
        self, requester_id: uuid.UUID, *, for_update: bool = False
    ) -> Requester | None:
        if for_update:
            raise GaveWay("a requester locked for its correction")
        return await _read(super().requester_by_id(requester_id))

    async def contracts_held_by(self, login: str, organisation: str | None) -> list[ContractState]:
        return await _read(super().contracts_held_by(login, organisation))

    async def insert_requester(self, requester: Requester) -> bool:
        raise GaveWay("a requester created")

    async def update_requester(
        self, requester: Requester, *, changes: dict[str, Any], changed_by: str, channel: str | None
    ) -> Requester:
        raise GaveWay("a requester corrected")

    async def delete_requester(self, requester_id: uuid.UUID) -> bool:
        raise GaveWay("a requester removed")


async def _read(read: Awaitable[_T]) -> _T:
    """A read of a unit in autocommit; `GaveWay` when it finds the connection dead (the pool
    then drops its other connections, and the transaction's checkout pings)."""
    try:
        return await read
    except DBAPIError as error:
        if error.connection_invalidated:
            raise GaveWay("its connection was found dead") from error
        raise


@dataclass(frozen=True)
class ReadingMailroom(PostgresMailroom):
    """The mailroom of a unit in autocommit: every step of it writes, so each raises."""

    async def claim_message(self, mail: InboundMail) -> InboundMail | None:
        raise GaveWay("an inbound mail claimed")

    async def settle_message(self, mail: InboundMail) -> None:
        raise GaveWay("an inbound mail settled")

    async def quarantine(
        self, mail_id: uuid.UUID, message_id: str | None, reason: str, raw: bytes
    ) -> None:
        raise GaveWay("an inbound mail quarantined")


@dataclass(frozen=True)
class ReadingAppender(StoreAppender):
    """The events of a unit in autocommit: read, never appended to but by `open_numbered`."""

    async def append(
        self, stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
    ) -> AppendResult:
        raise GaveWay("events appended before the opening's")


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
        runs it all or nothing); any other write raises `GaveWay` unwritten. Its checkout sends
        no liveness ping (a round trip): its first statement is a read, which gives way on a
        dead connection (`ReadingDirectory`)."""
        with unpinged():
            conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield PostgresIntakeUnit(
                ReadingDirectory(conn),
                PostgresTicketIndex(conn, self._store),
                ReadingMailroom(conn),
                ReadingAppender(self._store, conn),
            )
        finally:
            await conn.close()

    def openings(self) -> OpeningUnits:
        """The units a request's opening runs in (`OpeningUnits`)."""
        return OpeningUnits(self.alone, self, self._engine.begin, self.within)
