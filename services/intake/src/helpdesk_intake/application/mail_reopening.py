"""The requester's reply to a resolved or closed ticket: reopen it, or open its follow-up.

`domain/reopening.py` decides; this reads the ticket's stream and appends, in the caller's
unit of work (the mail's claim commits with what it caused). The reopening names the version it
read, so a command of the ticket service appended meanwhile makes the whole handling retry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from helpdesk_intake.application.ports import EventAppender, IndexedTicket
from helpdesk_intake.domain.mail import InboundMessage
from helpdesk_intake.domain.reopening import (
    AfterClosure,
    ReopeningRules,
    after_closure,
    own_words,
    settlement,
)
from helpdesk_shared.events.ticket import TicketReopened
from helpdesk_shared.eventstore.model import EventMetadata, NewEvent, stream_id
from helpdesk_shared.logging import correlation_id

_NAMESPACE = uuid.UUID("4f0e6a1d-8c3b-4e2a-9b7d-1c5e3f2a6d80")
_MAX_REASON = 2000


@dataclass(frozen=True)
class Verdict:
    outcome: AfterClosure
    #: The ticket stream's version the verdict was read at.
    version: int


async def judge_reply(
    events_port: EventAppender,
    message: InboundMessage,
    ticket: IndexedTicket,
    rules: ReopeningRules,
) -> Verdict:
    """What the requester's reply does to `ticket`, from the ticket's own events."""
    events = await events_port.read_stream(stream_id("ticket", ticket.ticket_id))
    state = settlement((e.type, e.data) for e in events)
    now = datetime.now(tz=UTC)
    outcome = after_closure(state, message.body or "", now, rules.window, rules.phrases)
    return Verdict(outcome, events[-1].version if events else 0)


async def reopen_by_mail(
    events: EventAppender,
    message: InboundMessage,
    mail_id: uuid.UUID,
    ticket: IndexedTicket,
    verdict: Verdict,
    actor: str,
) -> None:
    """Append `TicketReopened` with the mail as its reason (notify tells the requester)."""
    words = own_words(message.body or "").strip() or message.subject or "(message vide)"
    event = TicketReopened(
        ticket_id=ticket.ticket_id,
        occurred_at=datetime.now(tz=UTC),
        reason=f"Réponse du demandeur par courriel : {words}"[:_MAX_REASON],
        by=ticket.requester_login,
    )
    metadata = EventMetadata(
        correlation_id=correlation_id.get(),
        actor=actor,
        extra={"channel": "email", "message_id": message.message_id, "mail_id": str(mail_id)},
    )
    new = NewEvent.from_domain(event, metadata, event_id=uuid.uuid5(_NAMESPACE, str(mail_id)))
    await events.append(stream_id("ticket", ticket.ticket_id), verdict.version, [new])
