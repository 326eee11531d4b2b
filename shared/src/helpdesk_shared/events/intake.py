"""Events recorded by intake beyond `TicketOpened`.

- `CallRecorded` (`call-<uuid>` streams): one per call the telephony system reports. Metrics
  computes the call commitments of the service card (docs/desk-rules.md) from it: the
  abandonment rate (abandoned / offered) and the share answered within 30 s (`wait_seconds`).
- `MailQuarantined` (`mail-<uuid>` streams, one per inbound message): a message that could not
  be parsed is kept with its reason, never lost. (A reply that threads onto a ticket is appended
  to that ticket's stream as the ticket service's `CommentAdded`.)
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from helpdesk_shared.events.base import DomainEvent


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up before an agent answered


class CallRecorded(DomainEvent):
    """A call the desk was offered, answered by an agent or abandoned by the caller."""

    stream_category: ClassVar[str] = "call"
    abstract: ClassVar[bool] = False

    call_id: uuid.UUID
    occurred_at: datetime
    #: The telephony system's own identifier of the call.
    external_id: str | None = None
    outcome: CallOutcome
    offered_at: datetime
    answered_at: datetime | None = None
    abandoned_at: datetime | None = None
    ended_at: datetime | None = None
    #: Seconds between offer and answer (or abandonment): "answered within 30 s" reads this.
    wait_seconds: float = Field(ge=0)
    agent: str | None = None
    caller: str | None = None
    queue: str | None = None
    #: The ticket the call led to, when there is one.
    ticket_id: uuid.UUID | None = None


class MailEvent(DomainEvent):
    abstract: ClassVar[bool] = True
    stream_category: ClassVar[str] = "mail"

    mail_id: uuid.UUID
    occurred_at: datetime
    message_id: str | None = None


class MailQuarantined(MailEvent):
    """An inbound message intake could not turn into a request; kept with the reason."""

    abstract: ClassVar[bool] = False

    reason: str
    from_address: str | None = None
    subject: str | None = None
    size_bytes: int = Field(ge=0)
