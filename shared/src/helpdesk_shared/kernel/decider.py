"""The one shape of an aggregate: a decider, and the one way to replay its stream.

A decider is three pure functions over immutable values: `decide(command, state) -> events`
(the rules), `evolve(state, event) -> state` (what a fact changes, no rules) and the state before
any event. Every aggregate of every service has this shape, so one application service
(`AggregateService`) loads, decides and appends for all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.eventstore.model import RecordedEvent, stream_id

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True)
class Decider(Generic[C, S, E]):
    """An aggregate's rules and facts. `S` is the state once the aggregate exists; before its
    first event the state is `initial_state` (None: "no such aggregate yet")."""

    #: The stream category: the aggregate `x` lives in stream `<category>-x`.
    category: str
    decide: Callable[[C, S | None], list[E]]
    evolve: Callable[[S | None, E], S | None]
    #: The events this aggregate folds; others in its stream (none today) are skipped.
    event_type: type[E] | tuple[type[Any], ...]
    initial_state: S | None = None

    def stream_id(self, aggregate_id: uuid.UUID | str) -> str:
        return stream_id(self.category, aggregate_id)

    def fold(self, state: S | None, events: Iterable[E]) -> S | None:
        """The state after `events` (already decoded), from `state`."""
        for event in events:
            state = self.evolve(state, event)
        return state


def replay(
    decider: Decider[Any, S, Any], recorded: Iterable[RecordedEvent], start: S | None = None
) -> S | None:
    """The state after the stored `recorded` events, from `start` (default: the initial state).

    The only place a stream is read back into a state: the event is upcast to its current schema
    (`to_domain`) and folded.
    """
    state = start if start is not None else decider.initial_state
    evolve, wanted = decider.evolve, decider.event_type
    for event in recorded:
        domain = event.to_domain()
        if isinstance(domain, wanted):
            state = evolve(state, domain)
    return state
