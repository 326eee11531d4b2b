"""Handle one inbound message handed over by the mail gateway.

The Message-ID is claimed first, in the same transaction as everything the message causes, so the
same mail handed over twice is handled once. Then: automatic messages are recorded and ignored;
a reply that threads onto a ticket (reference in the subject, or In-Reply-To/References naming a
message already handled) lands on it only when it comes from the ticket's requester or from
staff; anything else opens a new ticket. An unreadable message is quarantined with the reason.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from helpdesk_intake.application.mail_reopening import judge_reply, reopen_by_mail
from helpdesk_intake.application.open_request import (
    OpenRequest,
    RequesterDetails,
    open_ticket,
)
from helpdesk_intake.application.ports import InboundMail, IndexedTicket, IntakeUnit, IntakeUnits
from helpdesk_intake.domain.complaints import DEFAULT_COMPLAINT_KEYWORDS, ticket_type
from helpdesk_intake.domain.mail import (
    InboundMessage,
    Unparseable,
    message_id_of,
    parse_message,
)
from helpdesk_intake.domain.prequalification import AssistanceRequest
from helpdesk_intake.domain.reopening import AfterClosure, ReopeningRules
from helpdesk_intake.domain.systems import DEFAULT_SYSTEMS, OperatingSystems
from helpdesk_shared.events.intake import MailQuarantined
from helpdesk_shared.events.ticket import Channel, CommentAdded, Visibility
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    stream_id,
)
from helpdesk_shared.logging import correlation_id

_NAMESPACE = uuid.UUID("9d3c1a7e-5b2f-4c8d-a6e1-7f0b2c4d6e8a")
MAX_SUBJECT = 200
_ATTEMPTS = 3
DEFAULT_REOPENING = ReopeningRules()


@dataclass(frozen=True)
class MailHandled:
    """What became of the message: `opened`, `reply`, `auto_reply`, `bounce` or `quarantined`."""

    mail_id: uuid.UUID
    message_id: str | None
    disposition: str
    ticket_id: uuid.UUID | None = None
    reference: str | None = None
    detail: str | None = None
    duplicate: bool = False
    #: The pre-qualification outcome of the ticket the message opened.
    outcome: str | None = None


@dataclass(frozen=True)
class MailContext:
    #: Each message is handled in a unit of work of its own (claim included).
    units: IntakeUnits
    timezone: str
    staff_domains: tuple[str, ...]
    actor: str
    complaint_keywords: tuple[str, ...] = DEFAULT_COMPLAINT_KEYWORDS
    systems: OperatingSystems = DEFAULT_SYSTEMS
    reopening: ReopeningRules = DEFAULT_REOPENING


async def receive_mail(ctx: MailContext, raw: bytes) -> MailHandled:
    try:
        message = parse_message(raw)
    except Unparseable as error:
        return await _quarantine(ctx, raw, str(error))
    for attempt in range(_ATTEMPTS):
        try:
            return await _receive(ctx, message)
        except ConcurrencyConflict:
            # A ticket command appended to the same stream meanwhile: the whole handling
            # (claim included) rolled back, so trying again is safe.
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _receive(ctx: MailContext, message: InboundMessage) -> MailHandled:
    mail_id = uuid.uuid5(_NAMESPACE, message.message_id)
    claim = InboundMail(
        message.message_id, mail_id, "pending", None, None, message.from_address, message.subject
    )
    async with ctx.units() as unit:
        prior = await unit.mailroom.claim_message(claim)
        if prior is not None:
            return MailHandled(
                prior.mail_id, prior.message_id, prior.disposition, prior.ticket_id,
                detail=prior.detail, duplicate=True,
            )  # fmt: skip
        handled = await _handle(ctx, unit, message, mail_id)
        await unit.mailroom.settle_message(
            InboundMail(
                message.message_id, mail_id, handled.disposition, handled.detail, handled.ticket_id
            ),
        )
    return handled


async def _handle(
    ctx: MailContext, unit: IntakeUnit, message: InboundMessage, mail_id: uuid.UUID
) -> MailHandled:
    if message.automatic is not None:
        ignored = f"automatic message ({message.automatic}) from {message.from_address}: ignored"
        return MailHandled(mail_id, message.message_id, message.automatic, detail=ignored)
    thread = await _thread(unit, message)
    if thread is not None and _is_requester(thread, message):
        verdict = await judge_reply(unit.events, message, thread, ctx.reopening)
        if verdict.outcome is AfterClosure.REOPEN:
            await reopen_by_mail(unit.events, message, mail_id, thread, verdict, ctx.actor)
            return MailHandled(
                mail_id, message.message_id, "reopened", thread.ticket_id, thread.reference
            )
        if verdict.outcome is AfterClosure.NEW_TICKET:
            persists = f"the problem of {thread.reference} persists after its reopening window"
            return await _open(ctx, unit, message, mail_id, persists, follows=thread)
    if thread is not None and _may_reply(thread, message, ctx.staff_domains):
        await _append_reply(ctx, unit, message, mail_id, thread)
        return MailHandled(mail_id, message.message_id, "reply", thread.ticket_id, thread.reference)
    detail: str | None = None
    if thread is not None:
        detail = (
            f"{message.from_address} is neither the requester of {thread.reference} nor staff:"
            " opened as a new request"
        )
    return await _open(ctx, unit, message, mail_id, detail)


async def _thread(unit: IntakeUnit, message: InboundMessage) -> IndexedTicket | None:
    """The ticket this message answers: In-Reply-To/References (earlier inbound mail, then
    notify's `<ticket-<uuid>...>` ids), then a reference in the subject."""
    index = unit.tickets
    found = await index.ticket_by_message_ids(message.thread_ids)
    if found is not None:
        return found
    for ticket_id in message.notified_ticket_ids:
        found = await index.ticket_by_id(ticket_id)
        if found is not None:
            return found
    for reference in message.subject_references:
        found = await index.ticket_by_reference(reference)
        if found is not None:
            return found
    return None


def _is_requester(ticket: IndexedTicket, message: InboundMessage) -> bool:
    sender = message.from_address.lower()
    return bool(ticket.requester_email) and sender == (ticket.requester_email or "").lower()


def _may_reply(
    ticket: IndexedTicket, message: InboundMessage, staff_domains: tuple[str, ...]
) -> bool:
    """Only the ticket's requester and staff write on a ticket (never another customer)."""
    sender = message.from_address.lower()
    if ticket.requester_email and sender == ticket.requester_email.lower():
        return True
    domain = sender.rsplit("@", 1)[-1]
    return domain in {d.lower() for d in staff_domains}


async def _append_reply(
    ctx: MailContext,
    unit: IntakeUnit,
    message: InboundMessage,
    mail_id: uuid.UUID,
    ticket: IndexedTicket,
) -> None:
    """The reply becomes a public comment at the end of the ticket's stream."""
    is_requester = (ticket.requester_email or "").lower() == message.from_address
    event = CommentAdded(
        ticket_id=ticket.ticket_id,
        occurred_at=datetime.now(tz=UTC),
        text=message.body or message.subject or "(message vide)",
        visibility=Visibility.PUBLIC,
        by=ticket.requester_login if is_requester else message.from_address,
    )
    metadata = EventMetadata(
        correlation_id=correlation_id.get(),
        actor=ctx.actor,
        extra={"channel": "email", "message_id": message.message_id, "mail_id": str(mail_id)},
    )
    new = NewEvent.from_domain(event, metadata, event_id=uuid.uuid5(_NAMESPACE, f"reply-{mail_id}"))
    ticket_stream = stream_id("ticket", ticket.ticket_id)
    await unit.events.append(ticket_stream, ExpectedVersion.ANY, [new])


async def _open(
    ctx: MailContext,
    unit: IntakeUnit,
    message: InboundMessage,
    mail_id: uuid.UUID,
    detail: str | None,
    follows: IndexedTicket | None = None,
) -> MailHandled:
    subject = (message.subject or "(sans objet)")[:MAX_SUBJECT]
    description = message.body or "(message vide)"
    if follows is not None:
        description = f"Suite du ticket {follows.reference} :\n{description}"
    command = OpenRequest(
        type=ticket_type(None, subject, description, ctx.complaint_keywords),
        channel=Channel.EMAIL,
        subject=subject,
        description=description,
        facts=AssistanceRequest(),
        requester=RequesterDetails(email=message.from_address, name=message.from_name or None),
        received_at=datetime.now(tz=UTC),
        opened_by=ctx.actor,
        verified_by_staff=False,
        corrects_directory=False,
        follows=(follows.ticket_id, follows.reference) if follows else None,
    )
    opened = await open_ticket(unit, command, ctx.timezone, ctx.systems)
    return MailHandled(
        mail_id,
        message.message_id,
        "opened",
        opened.ticket_id,
        opened.reference,
        detail,
        outcome=opened.pre_qualification.outcome.value,
    )


async def _quarantine(ctx: MailContext, raw: bytes, reason: str) -> MailHandled:
    """Keep the unreadable message whole with its reason; the same bytes are kept once."""
    mail_id = uuid.uuid5(_NAMESPACE, hashlib.sha256(raw).hexdigest())
    message_id = message_id_of(raw)
    event = MailQuarantined(
        mail_id=mail_id,
        occurred_at=datetime.now(tz=UTC),
        message_id=message_id,
        reason=reason,
        size_bytes=len(raw),
    )
    async with ctx.units() as unit:
        await unit.mailroom.quarantine(mail_id, message_id, reason, raw)
        await _append(ctx, unit, mail_id, event)
    return MailHandled(mail_id, message_id, "quarantined", detail=reason)


async def _append(
    ctx: MailContext,
    unit: IntakeUnit,
    mail_id: uuid.UUID,
    event: MailQuarantined,
) -> None:
    metadata = EventMetadata(correlation_id=correlation_id.get(), actor=ctx.actor)
    new = NewEvent.from_domain(event, metadata, event_id=uuid.uuid5(_NAMESPACE, f"event-{mail_id}"))
    await unit.events.append(stream_id("mail", mail_id), ExpectedVersion.NO_STREAM, [new])
