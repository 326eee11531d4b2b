"""Who may do what on which ticket (docs/contracts.md): requesters on their own tickets, agents on
the tickets of their groups and levels, managers (and admins, services) on all.

Reading follows the same lines: an agent reads the tickets whose current group is one of its
groups, except the agents of the single desk, who follow up every ticket (docs/desk-rules.md:
the desk "assure le suivi quotidien de tous les tickets").
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk_shared.auth import Principal, Role
from helpdesk_ticket.application.errors import Forbidden
from helpdesk_ticket.domain.ticket.state import Ticket

#: The only commands a requester may send, on its own tickets.
REQUESTER_COMMANDS = frozenset({"comment", "reopen", "rate"})
#: Only the requester rates its satisfaction.
REQUESTER_ONLY = frozenset({"rate"})


@dataclass(frozen=True)
class ReadScope:
    """The tickets a caller who does not see everything may read: its own, and those whose
    current group is one of `groups`. Lists filter on it in SQL, so that pages and cursors
    count only what the caller may see."""

    requester: str
    groups: frozenset[str]

    def covers(self, requester: str, group: str) -> bool:
        return requester == self.requester or group in self.groups


def owns(principal: Principal, ticket: Ticket) -> bool:
    return principal.sub == ticket.requester


def read_scope(principal: Principal) -> ReadScope | None:
    """What `principal` may read; None for everything. A `groups` claim means nothing without
    the agent role: a requester reads only its own tickets whatever its token says. Managers,
    admins, services and the desk's agents read everything (`Principal.reads_every_ticket`)."""
    if principal.reads_every_ticket:
        return None
    groups = principal.groups if principal.has(Role.AGENT) else frozenset[str]()
    return ReadScope(requester=principal.sub, groups=groups)


def reader_bound(principal: Principal) -> tuple[str | None, tuple[str, ...]]:
    """`read_scope` as the lists' SQL filters take it: (None, ()) for every ticket, else the
    reader's own tickets and those of its groups. A filter outside it (another requester,
    another group) finds nothing, as a ticket one may not read answers 404: nothing is
    revealed."""
    scope = read_scope(principal)
    if scope is None:
        return None, ()
    return scope.requester, tuple(sorted(scope.groups))


def can_read(principal: Principal, ticket: Ticket) -> bool:
    scope = read_scope(principal)
    return scope is None or scope.covers(ticket.requester, ticket.group)


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
