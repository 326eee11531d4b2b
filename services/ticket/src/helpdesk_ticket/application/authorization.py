"""Who may do what on which ticket (DESIGN.md): requesters on their own tickets, agents on the
tickets of their groups and levels, managers (and admins, services) on all."""

from __future__ import annotations

from helpdesk_shared.auth import Principal, Role
from helpdesk_ticket.application.errors import Forbidden
from helpdesk_ticket.domain.state import Ticket

#: The only commands a requester may send, on its own tickets.
REQUESTER_COMMANDS = frozenset({"comment", "reopen", "rate"})
#: Only the requester rates its satisfaction.
REQUESTER_ONLY = frozenset({"rate"})


def owns(principal: Principal, ticket: Ticket) -> bool:
    return principal.sub == ticket.requester


def can_read(principal: Principal, ticket: Ticket) -> bool:
    """Staff read every ticket (the desk follows them all up); requesters only their own."""
    return principal.is_staff or owns(principal, ticket)


def agent_holds(principal: Principal, ticket: Ticket) -> bool:
    """An agent acts on a ticket of one of its groups, at or below its level."""
    return ticket.group in principal.groups and ticket.level <= (principal.level or 1)


def may(principal: Principal, command: str, ticket: Ticket) -> bool:
    if command in REQUESTER_ONLY:
        return owns(principal, ticket)
    if principal.sees_everything:
        return True
    if principal.has(Role.AGENT) and agent_holds(principal, ticket):
        return True
    return command in REQUESTER_COMMANDS and owns(principal, ticket)


def authorize(principal: Principal, command: str, ticket: Ticket) -> None:
    if not may(principal, command, ticket):
        raise Forbidden(f"{principal.sub} may not {command} ticket {ticket.reference}")
