"""Per-call facts, from the `CallRecorded` event of each `call-<uuid>` stream (intake)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from helpdesk_metrics.domain.records import EventRecord, as_text, as_time, in_stream_order, kind_of


@dataclass(frozen=True, slots=True)
class CallFacts:
    """One call offered to the desk by the telephony system."""

    call_id: str
    offered_at: datetime
    answered_at: datetime | None = None
    abandoned_at: datetime | None = None
    wait_seconds: float | None = None
    agent: str | None = None
    #: The version of the last event of the call's stream folded into these facts.
    last_version: int = 0

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def abandoned(self) -> bool:
        return self.answered_at is None and self.abandoned_at is not None


def fold_call(events: Iterable[EventRecord]) -> CallFacts | None:
    """The facts of one call from its `call-<uuid>` stream (its last `CallRecorded` event)."""
    ordered = in_stream_order(events)
    recorded = [e for e in ordered if kind_of(e.type) == "call"]
    if not recorded:
        return None
    return replace(_recorded(recorded[-1]), last_version=ordered[-1].version)


def evolve_call(facts: CallFacts | None, event: EventRecord) -> CallFacts | None:
    """The facts after the next event of the call's stream: a `CallRecorded` states them anew."""
    if kind_of(event.type) == "call":
        return _recorded(event)
    return None if facts is None else replace(facts, last_version=event.version)


def advance_call(facts: CallFacts | None, events: Sequence[EventRecord]) -> CallFacts | None:
    """The facts after the next events of the call's stream, in order (`evolve_call` in turn)."""
    for event in events:
        facts = evolve_call(facts, event)
    return facts


def _recorded(event: EventRecord) -> CallFacts:
    data = event.data
    offered = as_time(data.get("offered_at")) or event.occurred_at
    answered = as_time(data.get("answered_at"))
    abandoned = as_time(data.get("abandoned_at"))
    if data.get("outcome") == "abandoned":
        answered, abandoned = None, abandoned or event.occurred_at
    wait = data.get("wait_seconds")
    if not isinstance(wait, int | float):
        end = answered or abandoned
        wait = (end - offered).total_seconds() if end else None
    return CallFacts(
        call_id=str(data.get("call_id") or event.stream_id.partition("-")[2]),
        offered_at=offered,
        answered_at=answered,
        abandoned_at=abandoned,
        wait_seconds=float(wait) if wait is not None else None,
        agent=as_text(data.get("agent") or data.get("answered_by")),
        last_version=event.version,
    )
