"""The desk's configurable rules: categories, priority matrix, reopening window, SLA targets.

Pure data, so tests and deployments can swap them. The categories come from the shared catalogue
(`helpdesk_shared.catalogue`): level-1 domains handled by the desk, routed domains by other groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from helpdesk_shared.catalogue import CATEGORIES
from helpdesk_shared.catalogue import DESK_GROUP as DESK_GROUP
from helpdesk_shared.catalogue import MANAGEMENT_GROUP as MANAGEMENT_GROUP
from helpdesk_shared.catalogue import Category as Category
from helpdesk_shared.catalogue import category as find_category
from helpdesk_shared.events.ticket import Impact, Priority, Urgency
from helpdesk_ticket.domain.calendar import BusinessCalendar

#: The categories are the shared catalogue's (one vocabulary with intake and metrics).
DEFAULT_CATEGORIES: tuple[Category, ...] = CATEGORIES

_I, _U, _P = Impact, Urgency, Priority
DEFAULT_MATRIX: dict[tuple[Impact, Urgency], Priority] = {
    (_I.HIGH, _U.HIGH): _P.CRITICAL,
    (_I.HIGH, _U.MEDIUM): _P.HIGH,
    (_I.HIGH, _U.LOW): _P.MEDIUM,
    (_I.MEDIUM, _U.HIGH): _P.HIGH,
    (_I.MEDIUM, _U.MEDIUM): _P.MEDIUM,
    (_I.MEDIUM, _U.LOW): _P.LOW,
    (_I.LOW, _U.HIGH): _P.MEDIUM,
    (_I.LOW, _U.MEDIUM): _P.LOW,
    (_I.LOW, _U.LOW): _P.LOW,
}


@dataclass(frozen=True)
class SlaTargets:
    """Business time allowed to take a ticket into account and to resolve it."""

    taking_into_account: timedelta
    resolution: timedelta


#: The desk's own default targets: the support contracts commit to no response or resolution
#: time, so these are a choice of the desk, not a contract term. Deployments set theirs with
#: `TICKET_SLA_MINUTES` (see `settings.py` and docs/commitments.md).
DEFAULT_SLA: dict[Priority, SlaTargets] = {
    Priority.CRITICAL: SlaTargets(timedelta(minutes=15), timedelta(hours=4)),
    Priority.HIGH: SlaTargets(timedelta(minutes=30), timedelta(hours=8)),
    Priority.MEDIUM: SlaTargets(timedelta(minutes=30), timedelta(hours=20)),
    Priority.LOW: SlaTargets(timedelta(hours=1), timedelta(hours=40)),
}


@dataclass(frozen=True)
class TicketPolicy:
    """Every rule `decide` needs beyond the ticket's own state."""

    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    matrix: dict[tuple[Impact, Urgency], Priority] = field(
        default_factory=lambda: dict(DEFAULT_MATRIX)
    )
    #: How long after the resolution the requester may dispute it.
    reopen_window: timedelta = timedelta(days=10)
    sla: dict[Priority, SlaTargets] = field(default_factory=lambda: dict(DEFAULT_SLA))
    #: The priority whose targets apply before the ticket is qualified.
    default_priority: Priority = Priority.MEDIUM
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    #: Warn when this share of a target's business time is spent.
    warning_ratio: float = 0.8

    def category(self, code: str) -> Category | None:
        """The catalogue entry of `code` (older aliases resolve to today's code)."""
        return find_category(code, self.categories)

    def priority(self, impact: Impact, urgency: Urgency) -> Priority:
        return self.matrix[(impact, urgency)]

    def targets(self, priority: Priority | None) -> SlaTargets:
        return self.sla[priority or self.default_priority]


DEFAULT_POLICY = TicketPolicy()
