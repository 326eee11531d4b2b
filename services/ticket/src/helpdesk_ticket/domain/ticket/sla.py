"""SLA deadlines derived from the ticket's clock segments (never from mutable counters).

A segment says who held the ticket from when and whether the clock ran. A deadline is the instant
when the running business time reaches the target: recomputing it after a priority change, a pause
or a transfer is exact, and each group's share of the time falls out of the same segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from helpdesk_shared.events.ticket import SlaTarget
from helpdesk_ticket.domain.calendar import BusinessCalendar
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.state import ClockSegment, ClockState, Status, Ticket


def _spans(
    clock: Sequence[ClockSegment], until: datetime | None = None
) -> list[tuple[ClockSegment, datetime | None]]:
    """Each segment with its end (the next start, `until`, or None while open)."""
    spans: list[tuple[ClockSegment, datetime | None]] = []
    for i, segment in enumerate(clock):
        if until is not None and segment.start >= until:
            break
        end = clock[i + 1].start if i + 1 < len(clock) else None
        if until is not None and (end is None or end > until):
            end = until
        spans.append((segment, end))
    return spans


def deadline(
    clock: Sequence[ClockSegment], allowed: timedelta, calendar: BusinessCalendar
) -> datetime | None:
    """When `allowed` running business time is used up; None while paused or stopped before."""
    remaining = allowed
    for segment, end in _spans(clock):
        if segment.state != ClockState.RUNNING:
            continue
        spent = calendar.business_time(segment.start, end) if end else None
        if spent is None or spent >= remaining:
            return calendar.add(segment.start, remaining)
        remaining -= spent
    return None


def running_time(
    clock: Sequence[ClockSegment], until: datetime, calendar: BusinessCalendar
) -> timedelta:
    """Business time the clock ran until `until`."""
    return sum(
        (
            calendar.business_time(s.start, end or until)
            for s, end in _spans(clock, until)
            if s.state == ClockState.RUNNING
        ),
        timedelta(),
    )


def shares(
    clock: Sequence[ClockSegment], until: datetime, calendar: BusinessCalendar
) -> dict[str, timedelta]:
    """Each group's share of the running business time (who held the ticket while it ran)."""
    result: dict[str, timedelta] = {}
    for segment, end in _spans(clock, until):
        if segment.state == ClockState.RUNNING:
            spent = calendar.business_time(segment.start, end or until)
            result[segment.group] = result.get(segment.group, timedelta()) + spent
    return result


@dataclass(frozen=True)
class TargetView:
    """One commitment of one ticket: its deadline and where the ticket stands against it."""

    target: SlaTarget
    allowed: timedelta
    deadline: datetime | None
    warning_at: datetime | None
    completed_at: datetime | None
    elapsed: timedelta
    paused: bool

    @property
    def breached(self) -> bool:
        """Late now (pending) or completed late."""
        if self.deadline is None:
            return False
        if self.completed_at is not None:
            return self.completed_at > self.deadline
        return False

    def due(self, now: datetime) -> bool:
        return self.completed_at is None and self.deadline is not None and now >= self.deadline

    def near(self, now: datetime) -> bool:
        return self.completed_at is None and self.warning_at is not None and now >= self.warning_at


def _completion(ticket: Ticket, target: SlaTarget) -> datetime | None:
    if target is SlaTarget.TAKING_INTO_ACCOUNT:
        return ticket.taken_at
    if ticket.status == Status.RESOLVED and ticket.resolution:
        return ticket.resolution.at
    if ticket.status == Status.CLOSED:
        return ticket.resolution.at if ticket.resolution else ticket.closed_at
    return None


def target_view(
    ticket: Ticket, target: SlaTarget, policy: TicketPolicy, now: datetime
) -> TargetView:
    targets = policy.targets(ticket.priority)
    allowed = (
        targets.taking_into_account
        if target is SlaTarget.TAKING_INTO_ACCOUNT
        else targets.resolution
    )
    completed = _completion(ticket, target)
    calendar = policy.calendar
    clock = ticket.clock
    return TargetView(
        target=target,
        allowed=allowed,
        deadline=deadline(clock, allowed, calendar),
        warning_at=deadline(clock, allowed * policy.warning_ratio, calendar),
        completed_at=completed,
        elapsed=running_time(clock, completed or now, calendar),
        paused=bool(clock) and clock[-1].state != ClockState.RUNNING and completed is None,
    )


def sla_views(ticket: Ticket, policy: TicketPolicy, now: datetime) -> tuple[TargetView, ...]:
    return tuple(target_view(ticket, t, policy, now) for t in SlaTarget)


def current_holding(
    clock: Sequence[ClockSegment], until: datetime, calendar: BusinessCalendar
) -> tuple[str, datetime, timedelta] | None:
    """The group holding the ticket, since when, and its running business time since then: each
    team's own clock restarts when the ticket reaches it (the requester's clock does not)."""
    if not clock:
        return None
    group = clock[-1].group
    first = len(clock) - 1
    while first > 0 and clock[first - 1].group == group:
        first -= 1
    since = clock[first].start
    held = running_time(clock[first:], until, calendar)
    return group, since, held
