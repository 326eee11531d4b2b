"""`decide(command, state) -> events`: the ticket's rules. Pure: time comes in the command.

Which commands a status allows is in `transitions`; a refused transition names the commands
allowed instead.
"""

from __future__ import annotations

from functools import singledispatch

from helpdesk_shared.catalogue import UnknownCategory
from helpdesk_shared.events.ticket import (
    AppointmentKind,
    AppointmentScheduled,
    Closed,
    ClosureCode,
    CommentAdded,
    Escalated,
    PutOnHold,
    RemoteMaintenanceConsentRecorded,
    Resumed,
    Routed,
    SatisfactionRated,
    TicketAssigned,
    TicketEvent,
    TicketQualified,
    TicketReopened,
    TicketResolved,
    TicketTaken,
)
from helpdesk_ticket.domain.errors import (
    BeyondCoverage,
    InvalidCommand,
    TicketNotFound,
    TransitionNotAllowed,
)
from helpdesk_ticket.domain.ticket.commands import (
    COMMAND_NAMES,
    Assign,
    CheckSla,
    Close,
    Command,
    Comment,
    Escalate,
    Hold,
    Qualify,
    Rate,
    RecordConsent,
    Reopen,
    Resolve,
    Resume,
    Route,
    Schedule,
    Take,
)
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY, MANAGEMENT_GROUP, TicketPolicy
from helpdesk_ticket.domain.ticket.reinstall import breakdown_cause
from helpdesk_ticket.domain.ticket.remote_maintenance import remote_maintenance_refusal
from helpdesk_ticket.domain.ticket.sla_check import check_sla
from helpdesk_ticket.domain.ticket.state import Status, Ticket
from helpdesk_ticket.domain.ticket.transitions import (
    OUT_OF_SCOPE_REFUSAL,
    allowed_commands,
    first_contact,
    out_of_scope_at_the_desk,
    refusal,
)


def decide(
    command: Command, state: Ticket | None, policy: TicketPolicy = DEFAULT_POLICY
) -> list[TicketEvent]:
    """The events `command` records on `state`, or a `DomainError` saying why not."""
    if state is None:
        raise TicketNotFound("no such ticket")
    if isinstance(command, CheckSla):
        return check_sla(state, policy, command.at, command.by)
    name = COMMAND_NAMES[type(command)]
    allowed = allowed_commands(state, policy, command.at)
    if name not in allowed:
        raise TransitionNotAllowed(name, state.status.value, allowed, refusal(name, state))
    return _decide(command, state, policy)


@singledispatch
def _decide(command: Command, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    raise NotImplementedError(type(command).__name__)


@_decide.register
def _(command: Qualify, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    category = policy.category(command.category)
    if category is None:
        raise InvalidCommand("category", str(UnknownCategory(command.category, policy.categories)))
    return [
        TicketQualified(
            ticket_id=state.id,
            occurred_at=command.at,
            type=command.type,
            category=category.code,
            impact=command.impact,
            urgency=command.urgency,
            priority=policy.priority(command.impact, command.urgency),
            by=command.by,
        )
    ]


@_decide.register
def _(command: Assign, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if command.group == state.group and command.agent == state.assignee:
        raise InvalidCommand("agent", "the ticket is already assigned so")
    return [
        TicketAssigned(
            ticket_id=state.id,
            occurred_at=command.at,
            group=command.group,
            agent=command.agent,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Take, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    return [_taken(state, command)]


def _taken(state: Ticket, command: Command) -> TicketTaken:
    return TicketTaken(
        ticket_id=state.id,
        occurred_at=command.at,
        agent=command.by,
        group=state.group,
        level=state.level,
        by=command.by,
    )


@_decide.register
def _(command: Escalate, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if command.to_management:
        to_level, group = state.level, command.group or state.group
    elif out_of_scope_at_the_desk(state):
        raise TransitionNotAllowed(
            "escalate",
            state.status.value,
            allowed_commands(state, policy, command.at),
            OUT_OF_SCOPE_REFUSAL + " (escalate with to_management, not to a support level)",
        )
    else:
        to_level = command.to_level or state.level + 1
        group = command.group or state.group
        if to_level <= state.level or to_level > 3:
            raise InvalidCommand("to_level", f"must be above {state.level} and at most 3")
        limit = state.coverage_limit
        if limit is not None and to_level > limit:
            allowed = allowed_commands(state, policy, command.at)
            item = state.coverage_item or "this request"
            raise BeyondCoverage(state.status.value, allowed, limit, item)
    return [
        Escalated(
            ticket_id=state.id,
            occurred_at=command.at,
            from_level=state.level,
            to_level=to_level,
            to_management=command.to_management,
            group=MANAGEMENT_GROUP if command.to_management and not command.group else group,
            reason=command.reason,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Route, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if command.to_group == state.group:
        raise InvalidCommand("to_group", "the ticket is already with this group")
    return [
        Routed(
            ticket_id=state.id,
            occurred_at=command.at,
            from_group=state.group,
            to_group=command.to_group,
            domain=command.domain,
            reason=command.reason,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Comment, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if not command.text.strip():
        raise InvalidCommand("text", "a comment needs some text")
    return [
        CommentAdded(
            ticket_id=state.id,
            occurred_at=command.at,
            text=command.text,
            visibility=command.visibility,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Hold, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    return [
        PutOnHold(
            ticket_id=state.id,
            occurred_at=command.at,
            reason=command.reason,
            detail=command.detail,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Resume, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    return [Resumed(ticket_id=state.id, occurred_at=command.at, by=command.by)]


@_decide.register
def _(command: RecordConsent, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    return [
        RemoteMaintenanceConsentRecorded(
            ticket_id=state.id,
            occurred_at=command.at,
            granted=command.granted,
            channel=command.channel,
            scope=command.scope,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Schedule, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if command.ends_at is not None and command.ends_at <= command.starts_at:
        raise InvalidCommand("ends_at", "must be after starts_at")
    if command.kind is AppointmentKind.REMOTE:
        refused = remote_maintenance_refusal(state)
        if refused is not None:
            allowed = allowed_commands(state, policy, command.at)
            raise TransitionNotAllowed("schedule", state.status.value, allowed, refused)
    return [
        AppointmentScheduled(
            ticket_id=state.id,
            occurred_at=command.at,
            kind=command.kind,
            starts_at=command.starts_at,
            ends_at=command.ends_at,
            location=command.location,
            note=command.note,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Resolve, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if not command.solution.strip():
        raise InvalidCommand("solution", "a resolution needs the solution given")
    cause = breakdown_cause(command.resolution_code, command.cause)
    # Resolving a ticket nobody holds (at the first call, after a hand-over) takes it too.
    events: list[TicketEvent] = [] if state.taken_by is not None else [_taken(state, command)]
    events.append(
        TicketResolved(
            ticket_id=state.id,
            occurred_at=command.at,
            solution=command.solution,
            resolution_code=command.resolution_code,
            first_contact=first_contact(state, command.by),
            level=state.level,
            group=state.group,
            by=command.by,
            cause=cause,
        )
    )
    return events


@_decide.register
def _(command: Close, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if command.code is ClosureCode.RESOLVED and state.status != Status.RESOLVED:
        raise TransitionNotAllowed(
            "close",
            state.status.value,
            allowed_commands(state, policy, command.at),
            "close with code 'resolved' needs a resolution first; resolve, or give another code",
        )
    if command.code is not ClosureCode.RESOLVED and not (command.reason or "").strip():
        raise InvalidCommand("reason", f"closing as {command.code.value} needs a reason")
    if command.code is ClosureCode.OUT_OF_SCOPE and not (command.follow_up or "").strip():
        raise InvalidCommand("follow_up", "an out-of-scope request is closed with its follow-up")
    return [
        Closed(
            ticket_id=state.id,
            occurred_at=command.at,
            code=command.code,
            reason=command.reason,
            solution=state.resolution.solution if state.resolution else None,
            follow_up=command.follow_up,
            by=command.by,
        )
    ]


@_decide.register
def _(command: Reopen, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if not command.reason.strip():
        raise InvalidCommand("reason", "say why the resolution is disputed")
    return [
        TicketReopened(
            ticket_id=state.id, occurred_at=command.at, reason=command.reason, by=command.by
        )
    ]


@_decide.register
def _(command: Rate, state: Ticket, policy: TicketPolicy) -> list[TicketEvent]:
    if not 1 <= command.score <= 5:
        raise InvalidCommand("score", "from 1 to 5")
    return [
        SatisfactionRated(
            ticket_id=state.id,
            occurred_at=command.at,
            score=command.score,
            comment=command.comment,
            by=command.by,
        )
    ]
