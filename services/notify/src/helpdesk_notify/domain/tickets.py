"""Notify's own view of a ticket, rebuilt from the ticket events it consumes.

Notify must know who to write to when a ticket closes long after it opened, and which group a
ticket sits in for the daily digest, without calling the ticket service: it keeps just what its
mails need. `evolve` is pure and ignores an event it has already applied, so a redelivered or
replayed event never adds a line twice to the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from helpdesk_shared.events.admissibility import Decision
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    AdmissibilityRedecided,
    AppointmentScheduled,
    Closed,
    CommentAdded,
    Escalated,
    PutOnHold,
    Resumed,
    Routed,
    SlaBreached,
    SlaWarning,
    TicketAssigned,
    TicketEvent,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketTaken,
)

DEFAULT_LANGUAGE = "fr"
SUPPORTED_LANGUAGES = ("fr", "en")


class TicketStatus(StrEnum):
    OPEN = "open"
    ON_HOLD = "on_hold"
    CLOSED = "closed"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a ticket's history, as a group's hand-over mail shows it."""

    event_id: uuid.UUID
    occurred_at: datetime
    kind: str
    detail: str


@dataclass(frozen=True)
class TicketView:
    """What notify knows of a ticket."""

    ticket_id: uuid.UUID
    reference: str
    subject: str
    description: str
    ticket_type: str
    requester_login: str
    requester_name: str
    requester_email: str | None
    language: str
    group: str
    level: int
    status: TicketStatus
    opened_at: datetime
    last_activity_at: datetime
    out_of_scope: bool = False
    due_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)

    def has_applied(self, event_id: uuid.UUID) -> bool:
        return any(entry.event_id == event_id for entry in self.history)


def language_of(preferred: str | None) -> str:
    """French unless the requester prefers a language we have templates for (`en-GB` -> `en`)."""
    code = (preferred or DEFAULT_LANGUAGE).strip().lower()[:2]
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def evolve(view: TicketView | None, event: DomainEvent, event_id: uuid.UUID) -> TicketView | None:
    """The view after `event`; unchanged when the event was already applied or is not relevant."""
    if isinstance(event, TicketOpened):
        if view is not None:
            return view
        return _opened(event, event_id)
    if view is None or not isinstance(event, TicketEvent) or view.has_applied(event_id):
        return view
    view, kind, detail = _apply(view, event)
    return _record(view, event, event_id, kind, detail)


def _apply(view: TicketView, event: TicketEvent) -> tuple[TicketView, str, str]:
    """The view after a later event, and the history line it leaves."""
    if isinstance(event, Escalated):
        view = replace(view, level=event.to_level, group=event.group)
        if event.to_management:
            return view, "escalated_to_management", f"({event.reason})"
        return view, "escalated", f"{event.to_level} ({event.reason})"
    if isinstance(event, Routed):
        line = f"{event.from_group} -> {event.to_group} ({event.reason})"
        return replace(view, group=event.to_group), "routed", line
    if isinstance(event, TicketAssigned):
        return replace(view, group=event.group), "assigned", event.agent or event.group
    if isinstance(event, TicketTaken):
        view = replace(view, group=event.group, level=event.level)
        return view, "taken", event.agent
    if isinstance(event, CommentAdded):
        return view, f"comment ({event.visibility.value})", _excerpt(event.text)
    if isinstance(event, PutOnHold):
        return replace(view, status=TicketStatus.ON_HOLD), "on_hold", event.reason.value
    if isinstance(event, Resumed | TicketReopened):
        kind = "resumed" if isinstance(event, Resumed) else "reopened"
        return replace(view, status=TicketStatus.OPEN), kind, ""
    if isinstance(event, AppointmentScheduled):
        return view, "appointment", f"{event.kind.value} {event.starts_at.isoformat()}"
    if isinstance(event, SlaWarning | SlaBreached):
        kind = "sla_warning" if isinstance(event, SlaWarning) else "sla_breached"
        return replace(view, due_at=event.deadline), kind, event.target.value
    if isinstance(event, AdmissibilityRedecided):
        decision = event.admissibility.decision
        view = replace(view, out_of_scope=decision is Decision.OUT_OF_SCOPE)
        return view, "admissibility_redecided", f"{decision.value} ({event.reason.value})"
    if isinstance(event, TicketResolved):
        return view, "resolved", _excerpt(event.solution)
    if isinstance(event, Closed):
        view = replace(view, status=TicketStatus.CLOSED, due_at=None)
        return view, "closed", event.solution or event.code.value
    return view, type(event).__name__, ""


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _opened(event: TicketOpened, event_id: uuid.UUID) -> TicketView:
    requester = event.requester
    entry = HistoryEntry(event_id, event.occurred_at, "opened", event.channel.value)
    return TicketView(
        ticket_id=event.ticket_id,
        reference=event.reference,
        subject=event.subject,
        description=event.description,
        ticket_type=event.type.value,
        requester_login=requester.login,
        requester_name=requester.name,
        requester_email=str(requester.email) if requester.email else None,
        language=language_of(requester.preferred_language),
        group=event.group,
        level=event.level,
        status=TicketStatus.OPEN,
        opened_at=event.occurred_at,
        last_activity_at=event.occurred_at,
        out_of_scope=event.pre_qualification.outcome is Admissibility.OUT_OF_SCOPE,
        history=(entry,),
    )


def _record(
    view: TicketView, event: TicketEvent, event_id: uuid.UUID, kind: str, detail: str
) -> TicketView:
    entry = HistoryEntry(event_id, event.occurred_at, kind, detail)
    return replace(
        view,
        history=(*view.history, entry),
        last_activity_at=max(view.last_activity_at, event.occurred_at),
    )
