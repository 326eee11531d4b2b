"""The desk's configurable rules: categories, priority matrix, reopening window, SLA targets.

Pure data, so tests and deployments can swap them; `DEFAULT_POLICY` follows the seeds (contracts of
seed 000/001: level-1 domains handled by the desk, routed domains handled by other groups).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from helpdesk_shared.events.ticket import Impact, Priority, Urgency
from helpdesk_ticket.domain.calendar import BusinessCalendar

DESK_GROUP = "desk"
MANAGEMENT_GROUP = "management"


@dataclass(frozen=True)
class Category:
    """A domain of the support contract. `group` is who handles it: the desk or a routed group."""

    code: str
    label: str
    group: str = DESK_GROUP

    @property
    def level_one(self) -> bool:
        """Handled by the single desk at level 1 (the others are routed)."""
        return self.group == DESK_GROUP


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("workstation", "Poste de travail et périphériques, avec leur connexion au réseau"),
    Category("office_standard", "Applications bureautiques standards (Word, Excel, Outlook)"),
    Category("internet_access", "Accès Internet"),
    Category("printers", "Imprimantes locales et en réseau"),
    Category("local_network", "Réseau local Ethernet"),
    Category("servers", "Serveurs", group="servers"),
    Category("network", "Réseau", group="network"),
    Category("business_applications", "Applications métier", group="business-apps"),
    Category("office_non_standard", "Applications bureautiques non standard", group="office-apps"),
)

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
        return next((c for c in self.categories if c.code == code), None)

    def priority(self, impact: Impact, urgency: Urgency) -> Priority:
        return self.matrix[(impact, urgency)]

    def targets(self, priority: Priority | None) -> SlaTargets:
        return self.sla[priority or self.default_priority]


DEFAULT_POLICY = TicketPolicy()
