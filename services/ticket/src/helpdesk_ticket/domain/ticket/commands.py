"""What users ask the ticket to do. Each command names who (`by`) and when (`at`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from helpdesk_shared.events.ticket import (
    AppointmentKind,
    BreakdownCause,
    ClosureCode,
    HoldReason,
    Impact,
    TicketType,
    Urgency,
    Visibility,
)


@dataclass(frozen=True, kw_only=True)
class Command:
    by: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class Qualify(Command):
    type: TicketType
    category: str
    impact: Impact
    urgency: Urgency


@dataclass(frozen=True, kw_only=True)
class Assign(Command):
    group: str
    agent: str | None = None


@dataclass(frozen=True, kw_only=True)
class Take(Command):
    """`by` takes the ticket into account for its group at its level."""

    level: int = 1


@dataclass(frozen=True, kw_only=True)
class Escalate(Command):
    reason: str
    to_level: int | None = None  # default: one level up
    to_management: bool = False
    group: str | None = None  # default: the same group


@dataclass(frozen=True, kw_only=True)
class Route(Command):
    to_group: str
    reason: str
    domain: str | None = None


@dataclass(frozen=True, kw_only=True)
class Comment(Command):
    text: str
    visibility: Visibility = Visibility.PUBLIC


@dataclass(frozen=True, kw_only=True)
class Hold(Command):
    reason: HoldReason
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class Resume(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class RecordConsent(Command):
    granted: bool
    channel: str
    scope: str | None = None


@dataclass(frozen=True, kw_only=True)
class Schedule(Command):
    kind: AppointmentKind
    starts_at: datetime
    ends_at: datetime | None = None
    location: str | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class Resolve(Command):
    solution: str
    resolution_code: str
    level: int = 1
    #: Why the breakdown happened: required with the `reinstall` resolution code, only there.
    cause: BreakdownCause | None = None


@dataclass(frozen=True, kw_only=True)
class Close(Command):
    code: ClosureCode = ClosureCode.RESOLVED
    reason: str | None = None
    follow_up: str | None = None


@dataclass(frozen=True, kw_only=True)
class Reopen(Command):
    reason: str


@dataclass(frozen=True, kw_only=True)
class Rate(Command):
    score: int
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckSla(Command):
    """The watcher asks whether a deadline passed or is near (`by` is the watcher)."""


COMMAND_NAMES: dict[type[Command], str] = {
    Qualify: "qualify",
    Assign: "assign",
    Take: "take",
    Escalate: "escalate",
    Route: "route",
    Comment: "comment",
    Hold: "hold",
    Resume: "resume",
    RecordConsent: "record-consent",
    Schedule: "schedule",
    Resolve: "resolve",
    Close: "close",
    Reopen: "reopen",
    Rate: "rate",
    CheckSla: "check-sla",
}
