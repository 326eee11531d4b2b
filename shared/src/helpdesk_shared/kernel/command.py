"""What a command hands the aggregate service and gets back: the loaded state, the steps it
supplies (prepare, check, after, guard) and the `If-Match` precondition. Apart from the service
so that callers typing their steps need not know how it runs them; `decide_on` runs the steps
in their one order, on a fresh state or on the one this process's own append left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from helpdesk_shared.events.base import DomainEvent
from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent
from helpdesk_shared.kernel.decider import Decider
from helpdesk_shared.kernel.ports import Connection

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """An aggregate's state at a stream version (the ETag), with its events when asked for."""

    state: S
    version: int
    events: list[RecordedEvent] = field(default_factory=list)
    #: How many events the command that produced this state appended (0 for a plain load).
    appended: int = 0


class PreconditionFailed(Exception):
    """`If-Match` named another version than the aggregate's current one (HTTP 412)."""

    def __init__(self, expected: str, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(f"If-Match {expected} does not match the current version {actual}")


def matches(if_match: str | None, version: int) -> bool:
    """`If-Match: "3"`, `W/"3"`, `3` or `*` against the stream version."""
    if if_match is None:
        return True
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    return "*" in tags or str(version) in tags


#: Builds the command from the loaded state; raises to refuse (not found, forbidden) before
#: `If-Match` is looked at.
Prepare = Callable[[Loaded[S]], C]
#: Checks a command against other aggregates or ports (after `If-Match`, before deciding).
Check = Callable[[C, Loaded[S]], Awaitable[None]]
#: Writes what goes with the events in the same transaction (a search row, say).
After = Callable[[Connection, S], Awaitable[None]]
#: Claims a once-only fact in the transaction; False: it was already recorded, do nothing.
Guard = Callable[[Connection], Awaitable[bool]]


@dataclass(frozen=True)
class Steps(Generic[C, S]):
    """One command's steps and what goes with them, as the service passes them on."""

    prepare: Prepare[S, C]
    metadata: EventMetadata
    if_match: str | None = None
    check: Check[C, S] | None = None
    after: After[S] | None = None
    guard: Guard | None = None

    @property
    def atomic(self) -> bool:
        """Whether the command writes with its events (`after`, `guard`): one transaction."""
        return self.after is not None or self.guard is not None


async def decide_on(decider: Decider[C, S, E], loaded: Loaded[S], steps: Steps[C, S]) -> list[E]:
    """The events of the command on `loaded`, in the order every command takes: refusals of
    `prepare` (not found, forbidden) come before a stale `If-Match`, then `check`."""
    command = steps.prepare(loaded)
    if not matches(steps.if_match, loaded.version):
        raise PreconditionFailed(steps.if_match or "", loaded.version)
    if steps.check is not None:
        await steps.check(command, loaded)
    return decider.decide(command, loaded.state)
