"""What notify's handlers need from the outside world, in notify's own words.

The handlers (`handle_event`, `delivery`, `digest`) depend on these protocols only; `adapters/`
implements them (PostgreSQL, SMTP) and `bootstrap.py` wires the concrete ones, so the handlers run
in unit tests on in-memory fakes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.domain.notifications import Notification
from helpdesk_notify.domain.tickets import TicketView
from helpdesk_shared.eventstore.model import RecordedEvent


class DeliveryError(Exception):
    """The mail server did not accept the mail: `permanent` when retrying cannot help (a 5xx
    refusal such as an unknown mailbox), passing otherwise (server down, timeout, 4xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    async def send(self, mail: Mail) -> str:
        """Hand `mail` over; the server's reply. Raises `DeliveryError` when not accepted."""
        ...


class LedgerEntry(Protocol):
    """One planned notification as the ledger keeps it (the mail as rendered when planned)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def recipient(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def retryable(self) -> bool: ...

    def mail(self) -> Mail: ...


class Ledger(Protocol):
    """The record of every notification: one per (event, recipient), kept once."""

    async def record(self, notifications: Sequence[Notification]) -> list[uuid.UUID]:
        """Write each planned notification once (a redelivery keeps the row there); the ids of
        those that have a mail to send, in the order of `notifications`."""
        ...

    async def lock(self, notification: uuid.UUID) -> LedgerEntry | None:
        """The entry, once this unit of work holds it: another worker on it waits."""
        ...

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        """Mark the entry sent, with the server's reply to its mail (again: no change)."""
        ...

    async def mark_failed(
        self, notification: uuid.UUID, error: str, *, retryable: bool
    ) -> None: ...


class DeliveryLedger(Protocol):
    """The part of the ledger a mail's delivery needs."""

    async def lock(self, notification: uuid.UUID) -> LedgerEntry | None: ...

    async def mark_sent(self, notification: uuid.UUID, smtp_response: str) -> None:
        """Mark the entry sent; this may commit the unit at once (it is its last write)."""
        ...

    async def mark_failed(
        self, notification: uuid.UUID, error: str, *, retryable: bool
    ) -> None: ...


class DeliveryUnit(Protocol):
    """One mail's unit: its entry locked, read, marked and committed, then its lock released."""

    @property
    def ledger(self) -> DeliveryLedger: ...


class TicketViews(Protocol):
    """What notify knows of each ticket, to address and word its mails."""

    async def load_all_for_update(
        self, ticket_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, TicketView]:
        """The views found of these tickets, each held until the unit of work ends (events of
        one ticket in turn)."""
        ...

    async def save_all(self, views: Sequence[TicketView]) -> None: ...

    async def open_views(self) -> list[TicketView]:
        """Every ticket not closed, for the daily digest."""
        ...


class TicketHistory(Protocol):
    """The ticket's earlier events in the event store, when notify missed them."""

    async def read_stream(self, stream_id: str, to_version: int) -> list[RecordedEvent]: ...


class NotifyUnit(Protocol):
    """One transaction of notify's own tables: views and ledger commit together or not at all."""

    @property
    def ledger(self) -> Ledger: ...

    @property
    def tickets(self) -> TicketViews: ...

    @property
    def history(self) -> TicketHistory: ...


class NotifyUnits(Protocol):
    """Opens units of work: a unit's transaction commits when its block ends without error."""

    def __call__(self) -> AbstractAsyncContextManager[NotifyUnit]: ...

    def deliveries(self) -> AbstractAsyncContextManager[DeliveryUnit]:
        """A unit for one mail only (fewer round trips than a whole unit of work)."""
        ...
