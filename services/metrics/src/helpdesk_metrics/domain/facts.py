"""Per-ticket facts, folded from each ticket stream's events in stream order.

`fold_ticket` folds a whole stream (the replay, or a live event that arrives before an earlier
one); `evolve_ticket` applies the next event of the stream to the facts kept so far (the live
path, one event at a time). Both give the same facts for the same events, so the figures depend
only on the set of events and their own times (`occurred_at`, `received_at`), never on the order
or the number of times they were delivered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from helpdesk_metrics.domain.records import EventRecord, as_text, as_time, in_stream_order, kind_of
from helpdesk_shared import catalogue
from helpdesk_shared.calendar import BusinessCalendar
from helpdesk_shared.catalogue import DESK_GROUP


class Status(StrEnum):
    NEW = "new"  # opened, not yet taken into account
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset({Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD, Status.RESOLVED})
#: Pre-qualification outcomes that put a request in the desk's scope (`in_scope` is the name
#: admissibility decisions may also carry).
ADMISSIBLE_OUTCOMES = frozenset({"admissible", "in_scope"})
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the indicators need to know about one ticket.

    Slotted: without a per-instance `__dict__` each costs about 0.3 KiB instead of 1.7 KiB. A
    report holds a page of them at a time (`ReportFold`); when it held every ticket of its
    period at once, this cut its peak from 16.1 to 9.1 MiB at 4,500 tickets.
    """

    ticket_id: str
    reference: str
    type: str
    channel: str
    received_at: datetime
    opened_at: datetime
    initial_group: str
    initial_level: int
    group: str
    level: int
    status: Status = Status.NEW
    priority: str | None = None
    category: str | None = None
    asset_tag: str | None = None
    department: str | None = None
    admissibility: str | None = None
    taken_at: datetime | None = None
    first_resolved_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    closure_code: str | None = None
    escalations: int = 0
    routings: int = 0
    reopenings: int = 0
    sla_breaches: int = 0
    rating: int | None = None
    #: As stated by `TicketResolved` (derived from the history by the ticket service).
    first_contact: bool | None = None
    resolved_level: int | None = None
    last_version: int = 0
    #: Business seconds from reception to the first take and to the resolution, set when the
    #: facts are folded with the desk's calendar (for `/metrics`' histograms, summed in SQL).
    take_business_seconds: float | None = None
    resolve_business_seconds: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def handed_over(self) -> bool:
        """Escalated or routed at some point, or opened outside the single desk."""
        return (
            self.escalations > 0
            or self.routings > 0
            or self.initial_level != 1
            or self.initial_group != DESK_GROUP
        )

    @property
    def is_complaint(self) -> bool:
        """A complaint: management's, counted apart (not in the single desk's rate)."""
        return self.type == COMPLAINT

    @property
    def admissible(self) -> bool:
        """In the support contract's scope at the desk (pre-qualified admissible / in scope)."""
        return self.admissibility in ADMISSIBLE_OUTCOMES

    @property
    def resolved_by_desk(self) -> bool:
        """Resolved by the single desk: opened at the desk at level 1 and resolved there, with
        no hand-over to another level or team (no escalation, no routing, no move to another
        group) and no reopening. A hold or a comment does not break it: the desk kept the
        ticket. (`first_contact`, which a hold does break, is not what this measures.)"""
        return (
            self.resolved_at is not None
            and not self.handed_over
            and self.reopenings == 0
            and (self.group, self.level) == (DESK_GROUP, 1)
            and self.resolved_level in (None, 1)
        )

    def open_at(self, moment: datetime) -> bool:
        """Was the ticket in the backlog at `moment` (received, not yet closed)?"""
        return self.received_at <= moment and (self.closed_at is None or self.closed_at > moment)


def fold_ticket(
    events: Iterable[EventRecord], calendar: BusinessCalendar | None = None
) -> TicketFacts | None:
    """The facts of one ticket from its events; None until its `TicketOpened` is known.

    With a `calendar`, the business durations are set too. The fold works on a private dict
    (one object per ticket rather than one per event, which matters to the replay's rate) and
    freezes it at the end.
    """
    ordered = in_stream_order(events)
    opening = next((e for e in ordered if kind_of(e.type) == "opened"), None)
    if opening is None:
        return None
    state = _opened(opening)
    for event in ordered:
        if event is not opening:
            _apply(state, event)
    return _frozen(state, calendar)


def evolve_ticket(
    facts: TicketFacts | None, event: EventRecord, calendar: BusinessCalendar | None = None
) -> TicketFacts | None:
    """The facts after the next event of the ticket's stream (version `facts.last_version + 1`).

    Costs one event whatever the ticket's length, where refolding the stream would cost them all.
    """
    return advance_ticket(facts, [event], calendar)


def advance_ticket(
    facts: TicketFacts | None,
    events: Sequence[EventRecord],
    calendar: BusinessCalendar | None = None,
) -> TicketFacts | None:
    """The facts after the next events of the ticket's stream (versions `facts.last_version + 1`
    onwards, in order): the same as evolving them one at a time, but frozen (and timed on the
    calendar) once for the lot, which is what a batch or a rebuild's page of one ticket costs."""
    if facts is None:
        return fold_ticket(events, calendar)
    state = {name: getattr(facts, name) for name in _FIELDS}
    for event in events:
        _apply(state, event)
    return _frozen(state, calendar)


def _frozen(state: dict[str, Any], calendar: BusinessCalendar | None) -> TicketFacts:
    """The facts of a folded state; with a calendar, their business durations too."""
    if calendar is not None:
        state.update(business_durations(state, calendar))
    return TicketFacts(**state)


def business_durations(facts: Mapping[str, Any], calendar: BusinessCalendar) -> dict[str, Any]:
    """Business seconds from reception to the first take and to the resolution (what
    `/metrics`' histograms count), from a ticket's `received_at`, `taken_at`, `resolved_at`."""
    received = facts["received_at"]
    return {
        duration: None if at is None else calendar.seconds_between(received, at)
        for moment, duration in _DURATIONS
        for at in [facts[moment]]
    }


_DURATIONS = (("taken_at", "take_business_seconds"), ("resolved_at", "resolve_business_seconds"))


def _opened(event: EventRecord) -> dict[str, Any]:
    data = event.data
    requester = data.get("requester") or {}
    pre = data.get("pre_qualification") or {}
    group = str(data.get("group") or "desk")
    level = int(data.get("level") or 1)
    return {
        **_DEFAULTS,
        "ticket_id": str(data.get("ticket_id") or event.stream_id.partition("-")[2]),
        "reference": str(data.get("reference") or ""),
        "type": str(data.get("type") or "incident"),
        "channel": str(data.get("channel") or "web"),
        "received_at": as_time(data.get("received_at")) or event.occurred_at,
        "opened_at": event.occurred_at,
        "initial_group": group,
        "initial_level": level,
        "group": group,
        "level": level,
        "priority": as_text(data.get("priority")),
        "category": _category(data.get("category")),
        "asset_tag": as_text(data.get("asset_tag")),
        "department": as_text(requester.get("department")),
        "admissibility": as_text(pre.get("outcome")),
        "last_version": event.version,
    }


def _apply(state: dict[str, Any], event: EventRecord) -> None:
    """Apply one later event of the ticket's stream to its (private) state."""
    data = event.data
    state["last_version"] = event.version
    for key in ("priority", "category", "asset_tag"):  # any event stating them qualifies
        if value := as_text(data.get(key)):
            state[key] = _category(value) if key == "category" else value
    kind = kind_of(event.type)
    if kind == "qualified":
        state["type"] = str(data.get("type") or state["type"])
    elif kind == "taken":
        if state["taken_at"] is None:
            state["taken_at"] = event.occurred_at
        if state["status"] is Status.NEW:
            state["status"] = Status.IN_PROGRESS
        state["group"] = str(data.get("group") or state["group"])
        state["level"] = int(data.get("level") or state["level"])
    elif kind == "assigned":
        state["group"] = str(data.get("group") or state["group"])
    elif kind == "escalated":
        state["level"] = int(data.get("to_level") or state["level"])
        state["group"] = str(data.get("group") or state["group"])
        state["escalations"] += 1
    elif kind == "routed":
        state["group"] = str(data.get("to_group") or state["group"])
        state["routings"] += 1
    else:
        _lifecycle(state, kind, event)


def _lifecycle(state: dict[str, Any], kind: str | None, event: EventRecord) -> None:
    at = event.occurred_at
    if kind == "held":
        state["status"] = Status.ON_HOLD
    elif kind == "resumed":
        state["status"] = Status.IN_PROGRESS
    elif kind == "resolved":
        _resolved(state, at)
        first_contact, level = event.data.get("first_contact"), event.data.get("level")
        state["first_contact"] = first_contact if isinstance(first_contact, bool) else None
        state["resolved_level"] = level if isinstance(level, int) else None
    elif kind == "closed":
        code = as_text(event.data.get("code"))
        if code == "resolved" and state["resolved_at"] is None:
            _resolved(state, at)
        state.update(status=Status.CLOSED, closed_at=at, closure_code=code)
    elif kind == "reopened":
        state.update(_REOPENED, reopenings=state["reopenings"] + 1)
    elif kind == "rated":
        state["rating"] = _rating(event.data)
    elif kind == "sla_breached":
        state["sla_breaches"] += 1


_FIELDS = tuple(f.name for f in dataclasses.fields(TicketFacts))
_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in dataclasses.fields(TicketFacts)
    if f.default is not dataclasses.MISSING
}
_REOPENED: dict[str, Any] = {
    "status": Status.IN_PROGRESS,
    "resolved_at": None,
    "closed_at": None,
    "closure_code": None,
    "first_contact": None,
    "resolved_level": None,
}


def _category(value: Any) -> str | None:
    """The shared catalogue's code: tickets qualified with an older alias count with the rest."""
    text = as_text(value)
    return None if text is None else catalogue.canonical(text)


def _resolved(state: dict[str, Any], at: datetime) -> None:
    if state["first_resolved_at"] is None:
        state["first_resolved_at"] = at
    state.update(status=Status.RESOLVED, resolved_at=at)


def _rating(data: Mapping[str, Any]) -> int | None:
    for key in ("rating", "score", "satisfaction"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return None
