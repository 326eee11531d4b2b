"""Which commands each status allows (one table), refined by a few facts: the reopening window,
a rating given once. Also the first-contact rule, derived from the history."""

from __future__ import annotations

from datetime import datetime

from helpdesk_shared.events.ticket import Admissibility, ClosureCode
from helpdesk_ticket.domain.ticket.commands import COMMAND_NAMES
from helpdesk_ticket.domain.ticket.policy import DESK_GROUP, TicketPolicy
from helpdesk_ticket.domain.ticket.state import Status, Ticket

_WORK = ("qualify", "assign", "escalate", "route", "comment", "record-consent", "schedule")
_BY_STATUS: dict[Status, tuple[str, ...]] = {
    Status.OPENED: (*_WORK, "take", "resolve", "close"),
    Status.QUALIFIED: (*_WORK, "take", "resolve", "close"),
    Status.ASSIGNED: (*_WORK, "take", "hold", "resolve", "close"),
    Status.IN_PROGRESS: (*_WORK, "hold", "resolve", "close"),
    Status.ON_HOLD: ("resume", "comment", "record-consent", "schedule", "qualify", "close"),
    Status.RESOLVED: ("close", "reopen", "comment"),
    Status.CLOSED: ("reopen", "rate"),
}
ALL_COMMANDS: tuple[str, ...] = tuple(n for n in COMMAND_NAMES.values() if n != "check-sla")


def allowed_commands(state: Ticket, policy: TicketPolicy, at: datetime | None = None) -> list[str]:
    """The commands this state allows at `at` (a datetime; None: ignore the reopening window)."""
    allowed = list(_BY_STATUS[state.status])
    if "resolve" in allowed and out_of_scope_at_the_desk(state):
        allowed.remove("resolve")
    if "reopen" in allowed and not _reopenable(state, policy, at):
        allowed.remove("reopen")
    if "rate" in allowed and state.satisfaction is not None:
        allowed.remove("rate")
    return allowed


def out_of_scope_at_the_desk(state: Ticket) -> bool:
    """An out-of-scope request still with the single desk at level 1: the desk does not solve
    it, it routes it to whoever may, escalates it to management, or closes it with the
    follow-up given to the requester (the request stays recorded)."""
    return (
        state.admissibility is Admissibility.OUT_OF_SCOPE
        and state.group == DESK_GROUP
        and state.level == 1
    )


OUT_OF_SCOPE_REFUSAL = (
    "an out-of-scope request is not resolved at level 1: route it, escalate it to management, "
    "or close it with code 'out_of_scope' and its follow-up"
)


def _reopenable(state: Ticket, policy: TicketPolicy, at: datetime | None) -> bool:
    if state.resolution is None or state.closure_code not in (None, ClosureCode.RESOLVED):
        return False
    if at is None:
        return True
    return at - state.resolution.at <= policy.reopen_window


def refusal(name: str, state: Ticket) -> str:
    if name == "resolve" and out_of_scope_at_the_desk(state):
        return OUT_OF_SCOPE_REFUSAL
    if name == "reopen" and state.status in (Status.RESOLVED, Status.CLOSED):
        return "the reopening window has passed or the ticket was closed without a resolution"
    if name == "rate" and state.satisfaction is not None:
        return "the satisfaction was already rated"
    return f"'{name}' is not allowed while the ticket is {state.status.value}"


def first_contact(state: Ticket, resolver: str) -> bool:
    """Resolved by the single desk at level 1, by whoever took it, with no hand-over, hold or
    reopening in between (first-contact resolution, docs/desk-rules.md)."""
    return (
        state.level == 1
        and state.escalations == 0
        and state.routings == 0
        and state.holds == 0
        and state.reopenings == 0
        and state.taken_by in (None, resolver)
    )
