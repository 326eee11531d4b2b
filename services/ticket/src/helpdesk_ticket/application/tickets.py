"""Command and query handlers: load the stream, rebuild the state, decide, append.

The state is rebuilt from the stream for every command, so it is never stale; the append names the
version it was decided on, so a concurrent change is a conflict rather than an overwrite.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.ticket import CommentAdded, TicketEvent, Visibility
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    NewEvent,
    RecordedEvent,
    stream_id,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.application.authorization import authorize, can_read, may
from helpdesk_ticket.application.errors import PreconditionFailed
from helpdesk_ticket.application.state_cache import StateCache, autocommit
from helpdesk_ticket.domain.commands import COMMAND_NAMES, Command, Comment
from helpdesk_ticket.domain.decide import decide
from helpdesk_ticket.domain.errors import InvalidCommand, TicketNotFound
from helpdesk_ticket.domain.evolve import evolve
from helpdesk_ticket.domain.policy import TicketPolicy
from helpdesk_ticket.domain.state import Ticket
from helpdesk_ticket.domain.transitions import allowed_commands

Clock = Callable[[], datetime]
#: Builds the command once the handler knows the time (the actor comes from the principal).
CommandFactory = Callable[[str, datetime], Command]
_RETRIES_WITHOUT_IF_MATCH = 3


def utc_now() -> datetime:
    return datetime.now(UTC)


def ticket_stream(ticket_id: uuid.UUID) -> str:
    return stream_id("ticket", ticket_id)


@dataclass(frozen=True)
class Loaded:
    """A ticket and the stream it was rebuilt from."""

    ticket: Ticket
    version: int
    events: list[RecordedEvent]


def rebuild(events: list[RecordedEvent]) -> Ticket | None:
    state: Ticket | None = None
    for recorded in events:
        state = evolve(state, recorded.to_domain())
    return state


def matches(if_match: str | None, version: int) -> bool:
    """`If-Match: "3"`, `W/"3"`, `3` or `*` against the stream version."""
    if if_match is None:
        return True
    tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
    return "*" in tags or str(version) in tags


class TicketService:
    """The ticket use cases, independent of HTTP."""

    def __init__(self, store: EventStore, policy: TicketPolicy, clock: Clock = utc_now) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        #: Called after each append (the bootstrap wakes the list projection with it).
        self.appended: Callable[[], None] = lambda: None
        self.states = StateCache(store)

    async def current(self, ticket_id: uuid.UUID, *, conn: AsyncConnection | None = None) -> Loaded:
        """The latest state, topped up from the cache (no events: use `load` for history)."""
        version, state = await self.states.state(ticket_stream(ticket_id), conn=conn)
        if state is None:
            raise TicketNotFound(f"no ticket {ticket_id}")
        return Loaded(state, version, [])

    async def load(self, ticket_id: uuid.UUID, as_of: datetime | None = None) -> Loaded:
        """The state rebuilt from every event (at `as_of`, when given), with the events."""
        events = await self.store.read_stream(ticket_stream(ticket_id))
        if as_of is not None:
            events = [e for e in events if e.recorded_at <= as_of]
        state = rebuild(events)
        if state is None:
            raise TicketNotFound(f"no ticket {ticket_id}")
        return Loaded(state, events[-1].version, events)

    async def read(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        as_of: datetime | None = None,
        *,
        with_events: bool = False,
    ) -> Loaded:
        if as_of is None and not with_events:
            loaded = await self.current(ticket_id)
        else:
            loaded = await self.load(ticket_id, as_of)
        if not can_read(principal, loaded.ticket):
            raise TicketNotFound(f"no ticket {ticket_id}")  # not revealed to other requesters
        return loaded

    def allowed_for(self, principal: Principal, ticket: Ticket) -> list[str]:
        """What this caller may do now: the state's allowed commands it is entitled to."""
        allowed = allowed_commands(ticket, self.policy, self.clock())
        return [name for name in allowed if may(principal, name, ticket)]

    async def execute(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        build: CommandFactory,
        if_match: str | None = None,
        correlation_id: str | None = None,
    ) -> Loaded:
        """Run one command; without `If-Match`, a lost race is retried on the fresh state."""
        attempts = 1 if if_match is not None else _RETRIES_WITHOUT_IF_MATCH
        for attempt in range(attempts):
            try:
                return await self._execute_once(
                    principal, ticket_id, build, if_match, correlation_id
                )
            except ConcurrencyConflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def _execute_once(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        build: CommandFactory,
        if_match: str | None,
        correlation_id: str | None,
    ) -> Loaded:
        """Read, decide and append on one connection in autocommit: the append names the version
        it was decided on, so a concurrent change is a conflict without any transaction around
        the read (READ COMMITTED would not have held the read still anyway), and the one append
        statement is atomic on its own. That spares the BEGIN and COMMIT round trips."""
        async with autocommit(self.store.engine) as conn:
            loaded = await self.current(ticket_id, conn=conn)
            if not can_read(principal, loaded.ticket):
                raise TicketNotFound(f"no ticket {ticket_id}")
            command = build(principal.sub, self.clock())
            authorize(principal, COMMAND_NAMES[type(command)], loaded.ticket)
            if not matches(if_match, loaded.version):
                raise PreconditionFailed(if_match or "", loaded.version)
            if not principal.is_staff:
                _requesters_speak_publicly(command)
            events = decide(command, loaded.ticket, self.policy)
            after = await self._append(loaded, events, principal.sub, correlation_id, conn)
        return self._committed(loaded, after)

    async def record(
        self,
        loaded: Loaded,
        events: list[TicketEvent],
        actor: str,
        correlation_id: str | None = None,
    ) -> Loaded:
        """Append `events` at the version they were decided on; the state after them."""
        async with self.store.engine.begin() as conn:
            after = await self._append(loaded, events, actor, correlation_id, conn)
        return self._committed(loaded, after)

    async def _append(
        self,
        loaded: Loaded,
        events: list[TicketEvent],
        actor: str,
        correlation_id: str | None,
        conn: AsyncConnection,
    ) -> Loaded:
        if not events:
            return loaded
        metadata = EventMetadata(correlation_id=correlation_id, actor=actor)
        new = [NewEvent.from_domain(e, metadata) for e in events]
        stream = ticket_stream(loaded.ticket.id)
        result = await self.store.append(stream, loaded.version, new, conn=conn)
        state: Ticket | None = loaded.ticket
        for event in events:
            state = evolve(state, event)
        assert state is not None
        return Loaded(state, result.last_version, loaded.events)

    def _committed(self, before: Loaded, after: Loaded) -> Loaded:
        """Only committed states enter the cache (a rolled-back one would poison it)."""
        if after is not before:
            self.states.remember(ticket_stream(after.ticket.id), after.version, after.ticket)
            self.appended()
        return after


def _requesters_speak_publicly(command: Command) -> None:
    """A requester's comment is always visible to the desk and to the requester."""
    if isinstance(command, Comment) and command.visibility is not Visibility.PUBLIC:
        raise InvalidCommand("visibility", "requesters write public comments only")


def visible_to(principal: Principal, recorded: RecordedEvent) -> bool:
    """Internal comments are for agents: requesters do not see them in the history."""
    if principal.is_staff or recorded.type != CommentAdded.event_type():
        return True
    return bool(recorded.data.get("visibility") == Visibility.PUBLIC.value)
