"""Which notifications a ticket event gives: who is told, with which template, in which language.

Pure and deterministic per (event id, recipient): planning the same event again (a redelivery, a
replay from the dead-letter queue) gives the same notifications with the same content and ids, so
the ledger can recognise the ones already sent. An address that cannot receive mail still gives a
notification, marked undeliverable, so the failure is recorded rather than silently dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpdesk_notify.domain.mail import Mail, address_problem, render_ticket_mail
from helpdesk_notify.domain.tickets import DEFAULT_LANGUAGE, TicketView, language_of
from helpdesk_shared.events.admissibility import Decision
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    AdmissibilityRedecided,
    AppointmentScheduled,
    Closed,
    CommentAdded,
    Escalated,
    PutOnHold,
    Resumed,
    Routed,
    SlaBreached,
    TicketOpened,
    TicketReopened,
    Visibility,
)


@dataclass(frozen=True)
class Routing:
    """Where mails go, in which language staff read them, and what they link to (from
    configuration). Staff mailboxes read French unless configured otherwise: a team abroad or
    an English-speaking management can be given English."""

    group_mailboxes: Mapping[str, str] = field(default_factory=dict)
    group_domain: str = "helpdesk.local"
    management_address: str = "management@helpdesk.local"
    portal_url: str = "http://localhost:8080"
    message_id_domain: str = "helpdesk.local"
    #: group -> preferred language of its mailbox (`en`, `fr`, `en-GB`...); French when absent.
    group_languages: Mapping[str, str] = field(default_factory=dict)
    management_language: str = DEFAULT_LANGUAGE

    def group_mailbox(self, group: str) -> str:
        """A group's mailbox: configured, else `<group>@<group_domain>`."""
        return self.group_mailboxes.get(group) or f"{group}@{self.group_domain}"

    def group_language(self, group: str) -> str:
        """The language of a group's mails: its configured one if we have templates for it."""
        return language_of(self.group_languages.get(group))

    def management_mail_language(self) -> str:
        return language_of(self.management_language)

    def rating_url(self, ticket_id: uuid.UUID) -> str:
        return f"{self.portal_url.rstrip('/')}/tickets/{ticket_id}/satisfaction"

    def ticket_url(self, ticket_id: uuid.UUID) -> str:
        return f"{self.portal_url.rstrip('/')}/tickets/{ticket_id}"


@dataclass(frozen=True)
class Notification:
    """One mail to one recipient because of one event; `mail` is None when undeliverable."""

    event_id: uuid.UUID
    ticket_id: uuid.UUID | None
    recipient: str
    template: str
    language: str
    mail: Mail | None
    problem: str | None = None


@dataclass(frozen=True)
class _Target:
    recipient: str | None
    fallback: str  # names the recipient when there is no address
    template: str
    language: str
    opens_thread: bool = False


def plan(
    event: DomainEvent, event_id: uuid.UUID, view: TicketView | None, routing: Routing
) -> tuple[Notification, ...]:
    """The notifications `event` gives, `view` being the ticket after the event."""
    if view is None:
        return ()
    targets = _targets(event, view, routing)
    if not targets:
        return ()
    context = _context(event, view, routing)
    return tuple(_notification(t, event_id, view, context, routing) for t in targets)


_REQUESTER_TEMPLATES: dict[type[DomainEvent], str] = {
    PutOnHold: "on_hold",
    Resumed: "resumed",
    AppointmentScheduled: "appointment",
    TicketReopened: "reopened",
}


def _targets(event: DomainEvent, view: TicketView, routing: Routing) -> list[_Target]:
    if isinstance(event, TicketOpened):
        return [_requester(view, "opened", opens_thread=True)]
    if isinstance(event, Closed):
        return [_requester(view, "closed")]
    if isinstance(event, CommentAdded):
        public = event.visibility is Visibility.PUBLIC
        return [_requester(view, "comment")] if public and event.by != view.requester_login else []
    if isinstance(event, PutOnHold | Resumed | AppointmentScheduled | TicketReopened):
        return [_requester(view, _REQUESTER_TEMPLATES[type(event)])]
    if isinstance(event, AdmissibilityRedecided):
        # Only the good news is mailed: a request now in scope is taken on.
        in_scope = event.admissibility.decision is Decision.IN_SCOPE
        return [_requester(view, "admissibility_in_scope")] if in_scope else []
    if isinstance(event, Escalated) and event.to_management:
        return [_management(routing, "management_escalation")]
    if isinstance(event, SlaBreached):
        return [_management(routing, "sla_breach")]
    if isinstance(event, Escalated):
        return [_group(routing, event.group)]
    if isinstance(event, Routed):
        return [_group(routing, event.to_group)]
    return []


def _management(routing: Routing, template: str) -> _Target:
    address = routing.management_address
    return _Target(address, address, template, routing.management_mail_language())


def _group(routing: Routing, group: str) -> _Target:
    """The hand-over to a group's mailbox, in the group's language."""
    address = routing.group_mailbox(group)
    return _Target(address, address, "handover", routing.group_language(group))


def _requester(view: TicketView, template: str, *, opens_thread: bool = False) -> _Target:
    return _Target(
        view.requester_email, view.requester_login, template, view.language, opens_thread
    )


def _context(event: DomainEvent, view: TicketView, routing: Routing) -> dict[str, Any]:
    return {
        "ticket": view,
        "event": event,
        "kind": type(event).__name__,
        "ticket_url": routing.ticket_url(view.ticket_id),
        "rating_url": routing.rating_url(view.ticket_id),
    }


def _notification(
    target: _Target,
    event_id: uuid.UUID,
    view: TicketView,
    context: Mapping[str, Any],
    routing: Routing,
) -> Notification:
    problem = address_problem(target.recipient)
    if problem is not None or target.recipient is None:
        recipient = target.recipient or target.fallback
        return Notification(
            event_id, view.ticket_id, recipient, target.template, target.language, None, problem
        )
    mail = render_ticket_mail(
        name=target.template,
        language=target.language,
        context=context,
        recipient=target.recipient,
        ticket_id=view.ticket_id,
        event_id=event_id,
        domain=routing.message_id_domain,
        opens_thread=target.opens_thread,
    )
    return Notification(
        event_id, view.ticket_id, target.recipient, target.template, target.language, mail
    )
