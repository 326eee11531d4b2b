"""The ticket as rebuilt from its events: immutable values only, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from helpdesk_shared.events.admissibility import AdmissibilityEvidence
from helpdesk_shared.events.ticket import (
    Admissibility,
    AppointmentKind,
    BreakdownCause,
    ClosureCode,
    HoldReason,
    Impact,
    Priority,
    SlaTarget,
    TicketType,
    Urgency,
)


class Status(StrEnum):
    OPENED = "opened"
    QUALIFIED = "qualified"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # on hold: waiting for the requester or a third party
    STOPPED = "stopped"  # resolved or closed


@dataclass(frozen=True)
class ClockSegment:
    """From `start` until the next segment: who held the ticket and whether the SLA clock ran."""

    start: datetime
    group: str
    level: int
    state: ClockState
    why: str | None = None


@dataclass(frozen=True)
class Resolution:
    solution: str
    code: str
    first_contact: bool
    by: str
    at: datetime
    #: The breakdown's cause (`reinstall` resolutions only).
    cause: BreakdownCause | None = None


@dataclass(frozen=True)
class Appointment:
    kind: AppointmentKind
    starts_at: datetime
    ends_at: datetime | None
    location: str | None


@dataclass(frozen=True)
class Consent:
    granted: bool
    channel: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Ticket:
    """Everything a command needs to decide and a reader needs to see."""

    id: uuid.UUID
    reference: str
    type: TicketType
    status: Status
    requester: str
    requester_name: str
    subject: str
    description: str
    channel: str
    #: The version-1 summary of the latest decision (`admissible`, `to_route`, ...).
    admissibility: Admissibility
    #: The latest admissibility decision as evidence (opening, then each re-decision).
    evidence: AdmissibilityEvidence
    received_at: datetime
    opened_at: datetime
    group: str
    level: int
    #: The requester's organisation kind (`eple` for a school) and academy, as at the opening.
    requester_organisation_kind: str | None = None
    requester_academy: str | None = None
    #: The earlier ticket this one follows up (its problem came back after reopening was over).
    follows_reference: str | None = None
    category: str | None = None
    #: How deep the contract covers the request (from its admissibility); None: no limit known.
    coverage_limit: int | None = None
    #: The coverage item that sets the limit, as the contract names it.
    coverage_item: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    priority: Priority | None = None
    assignee: str | None = None
    taken_at: datetime | None = None
    taken_by: str | None = None
    hold_reason: HoldReason | None = None
    resolution: Resolution | None = None
    closed_at: datetime | None = None
    closure_code: ClosureCode | None = None
    consent: Consent | None = None
    appointments: tuple[Appointment, ...] = ()
    comments: int = 0
    #: Comments the requester sees (the others are internal to agents).
    public_comments: int = 0
    escalations: int = 0
    routings: int = 0
    holds: int = 0
    reopenings: int = 0
    satisfaction: int | None = None
    last_activity_at: datetime | None = None
    clock: tuple[ClockSegment, ...] = ()
    warned: frozenset[SlaTarget] = frozenset()
    breached: frozenset[SlaTarget] = frozenset()
    version: int = 0

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.RESOLVED, Status.CLOSED)
