"""Ticket use cases: the kernel's `AggregateService` runs the ticket decider; this adds who may
read and do what, and the history as a requester sees it.

The state comes from the state cache topped up from the stream, so it is never stale; the append
names the version it was decided on, so a concurrent change is a conflict rather than an
overwrite (retried on the fresh state when the caller sent no `If-Match`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.ticket import CommentAdded, TicketEvent, Visibility
from helpdesk_shared.eventstore.model import EventMetadata, RecordedEvent, stream_id
from helpdesk_shared.http.idempotency import IdempotencyKeys, StoredResponse
from helpdesk_shared.kernel import (
    DEFAULT_CACHE_SIZE,
    AggregateService,
    EventStore,
    Loaded,
    Snapshots,
)
from helpdesk_ticket.application.authorization import authorize, can_read, may
from helpdesk_ticket.application.errors import REFUSALS
from helpdesk_ticket.application.keyed import Keyed, KeyedCommand, handle_keyed
from helpdesk_ticket.domain.errors import InvalidCommand, TicketNotFound
from helpdesk_ticket.domain.ticket import ticket_decider
from helpdesk_ticket.domain.ticket.commands import COMMAND_NAMES, Command, Comment
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.state import Ticket
from helpdesk_ticket.domain.ticket.transitions import allowed_commands

Clock = Callable[[], datetime]
#: Builds the command once the handler knows the time (the actor comes from the principal).
CommandFactory = Callable[[str, datetime], Command]
#: The answer to a command, from the ticket after it (the view the caller is sent).
Render = Callable[[Loaded[Ticket]], dict[str, Any]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def ticket_stream(ticket_id: uuid.UUID) -> str:
    return stream_id("ticket", ticket_id)


def _not_found(ticket_id: uuid.UUID) -> TicketNotFound:
    return TicketNotFound(f"no ticket {ticket_id}")


class TicketService:
    """The ticket use cases, independent of HTTP and of the store behind the port."""

    def __init__(
        self,
        store: EventStore,
        policy: TicketPolicy,
        clock: Clock = utc_now,
        snapshots: Snapshots[Ticket] | None = None,
        idempotency: IdempotencyKeys | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.policy = policy
        self.clock = clock
        self.aggregates: AggregateService[Command, Ticket, TicketEvent] = AggregateService(
            ticket_decider(policy),
            store,
            _not_found,
            refusals=REFUSALS,
            snapshots=snapshots,
            cache_size=cache_size,
        )

    async def current(self, ticket_id: uuid.UUID) -> Loaded[Ticket]:
        """The latest state, topped up from the cache (no events: use `load` for history)."""
        return await self.aggregates.current(ticket_id)

    async def load(self, ticket_id: uuid.UUID, as_of: datetime | None = None) -> Loaded[Ticket]:
        """The state rebuilt from every event (at `as_of`, when given), with the events."""
        return await self.aggregates.history(ticket_id, as_of)

    async def read(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        as_of: datetime | None = None,
        *,
        with_events: bool = False,
    ) -> Loaded[Ticket]:
        if as_of is None and not with_events:
            loaded = await self.current(ticket_id)
        else:
            loaded = await self.load(ticket_id, as_of)
        if not can_read(principal, loaded.state):
            raise _not_found(ticket_id)  # not revealed to other requesters
        return loaded

    def allowed_for(self, principal: Principal, ticket: Ticket) -> list[str]:
        """What this caller may do now: the state's allowed commands it is entitled to."""
        allowed = allowed_commands(ticket, self.policy, self.clock())
        return [name for name in allowed if may(principal, name, ticket)]

    def _prepare(
        self, principal: Principal, ticket_id: uuid.UUID, build: CommandFactory
    ) -> Callable[[Loaded[Ticket]], Command]:
        def prepare(loaded: Loaded[Ticket]) -> Command:
            if not can_read(principal, loaded.state):
                raise _not_found(ticket_id)
            command = build(principal.sub, self.clock())
            authorize(principal, COMMAND_NAMES[type(command)], loaded.state)
            return command

        return prepare

    async def execute(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        build: CommandFactory,
        if_match: str | None = None,
        correlation_id: str | None = None,
    ) -> Loaded[Ticket]:
        """Run one command: 404 for a ticket the caller may not read, 403 for a command it may
        not send, 412 for a stale `If-Match`, then the ticket's rules; a lost race the retries
        did not win is a conflict naming what the caller may do now."""
        return await self.aggregates.handle(
            ticket_id,
            self._prepare(principal, ticket_id, build),
            metadata=EventMetadata(correlation_id=correlation_id, actor=principal.sub),
            if_match=if_match,
            check=None if principal.is_staff else _requesters_speak_publicly,
            allowed=lambda ticket: self.allowed_for(principal, ticket),
        )

    async def execute_once(
        self,
        principal: Principal,
        ticket_id: uuid.UUID,
        build: CommandFactory,
        keyed: Keyed,
        render: Render,
        if_match: str | None = None,
        correlation_id: str | None = None,
    ) -> tuple[StoredResponse, bool]:
        """`execute` under an `Idempotency-Key` (`handle_keyed`): applied once, a retry gets
        the first answer. True when the command ran now."""
        assert self.idempotency is not None, "the ticket service was built without keys"
        command = KeyedCommand(
            self._prepare(principal, ticket_id, build),
            EventMetadata(correlation_id=correlation_id, actor=principal.sub),
            if_match,
            check=None if principal.is_staff else _requesters_speak_publicly,
            allowed=lambda ticket: self.allowed_for(principal, ticket),
        )
        return await handle_keyed(
            self.aggregates, self.idempotency, ticket_id, keyed, command, render
        )


async def _requesters_speak_publicly(command: Command, loaded: Loaded[Ticket]) -> None:
    """A requester's comment is always visible to the desk and to the requester."""
    if isinstance(command, Comment) and command.visibility is not Visibility.PUBLIC:
        raise InvalidCommand("visibility", "requesters write public comments only")


def visible_to(principal: Principal, recorded: RecordedEvent) -> bool:
    """Internal comments are for agents: requesters do not see them in the history."""
    if principal.is_staff or recorded.type != CommentAdded.event_type():
        return True
    return bool(recorded.data.get("visibility") == Visibility.PUBLIC.value)
