"""Events as the metrics projection reads them: by type name, from their JSON body.

Event types are read by name from the event body (`type`, `data`) rather than through the
catalogue classes, so that events added to the catalogue later, or by another service, are
understood as long as they carry the fields the folds read (see `TYPE_ALIASES`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class EventRecord:
    """An event as the projection sees it, whether it came from the broker or the store."""

    stream_id: str
    version: int
    type: str
    data: Mapping[str, Any]
    recorded_at: datetime

    @property
    def category(self) -> str:
        return self.stream_id.partition("-")[0]

    @property
    def occurred_at(self) -> datetime:
        """When it happened by the event's own account, else when it was recorded."""
        return as_time(self.data.get("occurred_at")) or self.recorded_at


#: Type names understood for each ticket transition (the catalogue's name first).
TYPE_ALIASES: dict[str, frozenset[str]] = {
    "opened": frozenset({"TicketOpened"}),
    "qualified": frozenset({"TicketQualified", "Qualified", "TicketRequalified"}),
    "taken": frozenset({"TicketTaken", "Taken", "TakenIntoAccount"}),
    "assigned": frozenset({"TicketAssigned", "Assigned"}),
    "escalated": frozenset({"Escalated", "TicketEscalated"}),
    "routed": frozenset({"Routed", "TicketRouted"}),
    "held": frozenset({"PutOnHold", "TicketPutOnHold", "TicketHeld", "TicketOnHold"}),
    "resumed": frozenset({"Resumed", "TicketResumed"}),
    "resolved": frozenset({"TicketResolved", "Resolved"}),
    "closed": frozenset({"Closed", "TicketClosed"}),
    "reopened": frozenset({"TicketReopened", "Reopened"}),
    "rated": frozenset(
        {"SatisfactionRated", "TicketRated", "SatisfactionRecorded", "SatisfactionSurveyAnswered"}
    ),
    "sla_breached": frozenset({"SlaBreached", "SLABreached"}),
    "call": frozenset({"CallRecorded"}),
}
_KIND = {name: kind for kind, names in TYPE_ALIASES.items() for name in names}


def kind_of(event_type: str) -> str | None:
    """The transition an event type stands for, or None when metrics ignores it."""
    return _KIND.get(event_type)


class Step(Enum):
    """What the live projection does with a stream's event, given the facts it keeps."""

    #: The next event of the stream: evolve the kept facts by it.
    EVOLVE = "evolve"
    #: Already folded (a redelivery, or folded by an earlier refold): nothing changes.
    SKIP = "skip"
    #: An earlier event has not been folded yet (delivered out of order, or parked in the
    #: dead-letter queue): fold the whole stream again from the event store.
    REFOLD = "refold"


def next_step(last_version: int | None, version: int) -> Step:
    """The step for event `version` when the kept facts end at `last_version` (None: no facts)."""
    expected = 1 if last_version is None else last_version + 1
    if version == expected:
        return Step.EVOLVE
    if last_version is not None and version <= last_version:
        return Step.SKIP
    return Step.REFOLD


def in_stream_order(events: Iterable[EventRecord]) -> list[EventRecord]:
    """The stream's events by version, each version once (a redelivery is the same event)."""
    by_version = {e.version: e for e in events}
    return [by_version[v] for v in sorted(by_version)]


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):  # an enum-like object {"value": ...} or {"name": ...}
        value = value.get("value") or value.get("name")
        return None if value is None else str(value)
    return str(value)


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)  # Python 3.11 reads a trailing "Z" as UTC
    return None
