"""`evolve(state, event) -> state`: how each fact changes the ticket. Pure, total, no rules here.

Rules belong to `decide`; evolve must accept every stored event, including ones a newer rule set
would refuse, so that history always replays.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch
from typing import Any

from helpdesk_shared.events.admissibility import AdmissibilityEvidence, summary_from_evidence
from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.events.ticket import (
    Admissibility,
    AdmissibilityRedecided,
    AppointmentScheduled,
    Closed,
    CommentAdded,
    Escalated,
    PutOnHold,
    RemoteMaintenanceConsentRecorded,
    Resumed,
    Routed,
    SatisfactionRated,
    SlaBreached,
    SlaWarning,
    TicketAssigned,
    TicketEvent,
    TicketOpened,
    TicketQualified,
    TicketReopened,
    TicketResolved,
    TicketTaken,
    Visibility,
)
from helpdesk_ticket.domain.errors import TicketNotFound
from helpdesk_ticket.domain.ticket.state import (
    Appointment,
    ClockSegment,
    ClockState,
    Consent,
    Resolution,
    Status,
    Ticket,
)


def _with(state: Ticket, **changes: Any) -> Ticket:
    """`dataclasses.replace` without re-running `__init__`: a ticket's fields need no checks, and
    replaying a long stream spends most of its time copying the state otherwise."""
    new = object.__new__(Ticket)
    new.__dict__.update(state.__dict__)
    new.__dict__.update(changes)
    return new


def evolve(state: Ticket | None, event: DomainEvent) -> Ticket | None:
    """Apply one event; every applied event bumps the version (the stream version, the ETag)."""
    if isinstance(event, TicketOpened):
        return _opened(event)
    if not isinstance(event, TicketEvent):
        return state  # not a ticket fact: nothing to change
    if state is None:
        raise TicketNotFound(f"{type(event).__name__} before TicketOpened")
    new = _apply(event, state)
    # The watcher's SLA facts are not activity on the ticket (the daily follow-up looks for that).
    quiet = isinstance(event, SlaWarning | SlaBreached)
    activity = state.last_activity_at if quiet else event.occurred_at
    return _with(new, version=state.version + 1, last_activity_at=activity)


def _opened(event: TicketOpened) -> Ticket:
    return Ticket(
        id=event.ticket_id,
        reference=event.reference,
        type=event.type,
        status=Status.OPENED,
        requester=event.requester.login,
        requester_name=event.requester.name,
        requester_organisation_kind=event.requester.organisation_kind,
        requester_academy=event.requester.academy,
        follows_reference=event.follows_reference,
        subject=event.subject,
        description=event.description,
        channel=event.channel.value,
        admissibility=event.pre_qualification.outcome,
        evidence=event.admissibility,
        coverage_limit=event.admissibility.up_to_level,
        coverage_item=_item_name(event.admissibility),
        received_at=event.received_at,
        opened_at=event.occurred_at,
        group=event.group,
        level=event.level,
        category=event.category,
        last_activity_at=event.occurred_at,
        clock=(ClockSegment(event.received_at, event.group, event.level, ClockState.RUNNING),),
        version=1,
    )


def _item_name(evidence: AdmissibilityEvidence) -> str | None:
    item = evidence.covered_item
    return (item.label or item.name) if item else None


def _outcome(evidence: AdmissibilityEvidence) -> Admissibility:
    """The version-1 summary of a decision: the evidence is the authority, the summary follows."""
    return Admissibility(summary_from_evidence(evidence)["outcome"])


def _segment(state: Ticket, at: datetime, clock: ClockState, why: str | None = None) -> Ticket:
    """Start a new clock segment with the ticket's current holder."""
    segment = ClockSegment(at, state.group, state.level, clock, why)
    return _with(state, clock=(*state.clock, segment))


def _clock_state(state: Ticket) -> ClockState:
    return state.clock[-1].state if state.clock else ClockState.RUNNING


def _worked_status(state: Ticket) -> Status:
    """Where a ticket goes back to when work on it starts again."""
    if state.taken_by is not None:
        return Status.IN_PROGRESS
    if state.assignee is not None:
        return Status.ASSIGNED
    return Status.QUALIFIED if state.priority is not None else Status.OPENED


@singledispatch
def _apply(event: TicketEvent, state: Ticket) -> Ticket:
    return state  # events that only bump the version (SLA facts handled below)


@_apply.register
def _(event: TicketQualified, state: Ticket) -> Ticket:
    status = Status.QUALIFIED if state.status == Status.OPENED else state.status
    return _with(
        state,
        type=event.type,
        category=event.category,
        impact=event.impact,
        urgency=event.urgency,
        priority=event.priority,
        status=status,
    )


@_apply.register
def _(event: TicketAssigned, state: Ticket) -> Ticket:
    moved = event.group != state.group
    state = _with(
        state,
        group=event.group,
        assignee=event.agent,
        taken_by=None if moved else state.taken_by,
    )
    state = _with(state, status=_worked_status(state))
    return _segment(state, event.occurred_at, _clock_state(state), "assigned") if moved else state


@_apply.register
def _(event: TicketTaken, state: Ticket) -> Ticket:
    return _with(
        state,
        status=Status.IN_PROGRESS,
        assignee=event.agent,
        taken_by=event.agent,
        taken_at=state.taken_at or event.occurred_at,
    )


@_apply.register
def _(event: Escalated, state: Ticket) -> Ticket:
    escalations = state.escalations + 1
    if event.to_management or (event.group, event.to_level) == (state.group, state.level):
        return _with(state, escalations=escalations)  # management alerted; holder unchanged
    state = _with(
        state,
        level=event.to_level,
        group=event.group,
        assignee=None,
        taken_by=None,
        escalations=escalations,
    )
    state = _with(state, status=_worked_status(state))
    return _segment(state, event.occurred_at, _clock_state(state), "escalated")


@_apply.register
def _(event: Routed, state: Ticket) -> Ticket:
    state = _with(
        state, group=event.to_group, assignee=None, taken_by=None, routings=state.routings + 1
    )
    state = _with(state, status=_worked_status(state))
    return _segment(state, event.occurred_at, _clock_state(state), "routed")


@_apply.register
def _(event: CommentAdded, state: Ticket) -> Ticket:
    public = state.public_comments + (event.visibility is Visibility.PUBLIC)
    return _with(state, comments=state.comments + 1, public_comments=public)


@_apply.register
def _(event: PutOnHold, state: Ticket) -> Ticket:
    state = _with(state, status=Status.ON_HOLD, hold_reason=event.reason, holds=state.holds + 1)
    return _segment(state, event.occurred_at, ClockState.PAUSED, event.reason.value)


@_apply.register
def _(event: Resumed, state: Ticket) -> Ticket:
    state = _with(state, hold_reason=None)
    state = _with(state, status=_worked_status(state))
    return _segment(state, event.occurred_at, ClockState.RUNNING, "resumed")


@_apply.register
def _(event: RemoteMaintenanceConsentRecorded, state: Ticket) -> Ticket:
    consent = Consent(event.granted, event.channel, event.by, event.occurred_at)
    return _with(state, consent=consent)


@_apply.register
def _(event: AppointmentScheduled, state: Ticket) -> Ticket:
    appointment = Appointment(event.kind, event.starts_at, event.ends_at, event.location)
    return _with(state, appointments=(*state.appointments, appointment))


@_apply.register
def _(event: TicketResolved, state: Ticket) -> Ticket:
    resolution = Resolution(
        event.solution,
        event.resolution_code,
        event.first_contact,
        event.by,
        event.occurred_at,
        event.cause,
    )
    state = _with(state, status=Status.RESOLVED, resolution=resolution, hold_reason=None)
    if state.taken_at is None:
        state = _with(state, taken_at=event.occurred_at, taken_by=event.by)
    return _segment(state, event.occurred_at, ClockState.STOPPED, "resolved")


@_apply.register
def _(event: Closed, state: Ticket) -> Ticket:
    state = _with(state, status=Status.CLOSED, closed_at=event.occurred_at, closure_code=event.code)
    if _clock_state(state) == ClockState.STOPPED:
        return state
    return _segment(state, event.occurred_at, ClockState.STOPPED, "closed")


@_apply.register
def _(event: TicketReopened, state: Ticket) -> Ticket:
    state = _with(
        state,
        closed_at=None,
        closure_code=None,
        reopenings=state.reopenings + 1,
        taken_by=None,
        assignee=state.resolution.by if state.resolution else state.assignee,
    )
    state = _with(state, status=Status.ASSIGNED if state.assignee else Status.QUALIFIED)
    return _segment(state, event.occurred_at, ClockState.RUNNING, "reopened")


@_apply.register
def _(event: SatisfactionRated, state: Ticket) -> Ticket:
    return _with(state, satisfaction=event.score)


@_apply.register
def _(event: SlaWarning, state: Ticket) -> Ticket:
    return _with(state, warned=state.warned | {event.target})


@_apply.register
def _(event: SlaBreached, state: Ticket) -> Ticket:
    return _with(state, breached=state.breached | {event.target})


@_apply.register
def _(event: AdmissibilityRedecided, state: Ticket) -> Ticket:
    """The latest decision replaces the one before: the summary, the coverage limit follow it."""
    evidence = event.admissibility
    return _with(
        state,
        evidence=evidence,
        admissibility=_outcome(evidence),
        coverage_limit=evidence.up_to_level,
        coverage_item=_item_name(evidence),
    )
