"""Problem use cases: create (idempotent with `Idempotency-Key`), link incidents, workaround,
resolve. Same cycle as tickets: load the stream, decide, append at the version decided on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.problem import ProblemEvent
from helpdesk_shared.events.ticket import TicketType
from helpdesk_shared.eventstore.model import (
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    stream_id,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.idempotency import IdempotencyGuard, StoredResponse
from helpdesk_ticket.application.authorization import can_read
from helpdesk_ticket.application.errors import Forbidden, PreconditionFailed
from helpdesk_ticket.application.tickets import Clock, matches, rebuild, ticket_stream
from helpdesk_ticket.domain.errors import InvalidCommand, ProblemNotFound
from helpdesk_ticket.domain.problem import (
    CreateProblem,
    LinkIncident,
    Problem,
    ProblemCommand,
    decide_problem,
    evolve_problem,
)

ProblemFactory = Callable[[str, Any], ProblemCommand]
IDEMPOTENCY_SCOPE = "ticket:POST /v1/problems"


def problem_stream(problem_id: uuid.UUID) -> str:
    return stream_id("problem", problem_id)


@dataclass(frozen=True)
class LoadedProblem:
    problem: Problem
    version: int
    events: list[RecordedEvent]


def _replay(events: list[RecordedEvent]) -> Problem | None:
    state: Problem | None = None
    for recorded in events:
        event = recorded.to_domain()
        if isinstance(event, ProblemEvent):
            state = evolve_problem(state, event)
    return state


class ProblemService:
    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def authorize(principal: Principal) -> None:
        """Problem management is the support staff's work; requesters do not see problems."""
        if not principal.is_staff:
            raise Forbidden("problems are managed by the support staff")

    async def load(self, problem_id: uuid.UUID) -> LoadedProblem:
        events = await self.store.read_stream(problem_stream(problem_id))
        state = _replay(events)
        if state is None:
            raise ProblemNotFound(f"no problem {problem_id}")
        return LoadedProblem(state, events[-1].version, events)

    async def check_incidents(
        self, principal: Principal, ticket_ids: tuple[uuid.UUID, ...]
    ) -> None:
        """Each incident exists and the caller may read it: a problem (and the draft article
        made with it) copies its incidents' references and subjects, so linking a ticket one
        may not read would show it; such a ticket is unknown, as its own routes answer 404."""
        for ticket_id in ticket_ids:
            ticket = rebuild(await self.store.read_stream(ticket_stream(ticket_id)))
            if ticket is None or not can_read(principal, ticket):
                raise InvalidCommand("ticket_id", f"no ticket {ticket_id}")
            if ticket.type is not TicketType.INCIDENT:
                raise InvalidCommand("ticket_id", f"{ticket.reference} is not an incident")

    async def create(
        self,
        principal: Principal,
        command: CreateProblem,
        idempotency_key: str | None,
        request: dict[str, Any],
        render: Callable[[LoadedProblem], dict[str, Any]],
    ) -> StoredResponse:
        """Create a problem; a retry with the same key answers the first answer again."""
        self.authorize(principal)
        await self.check_incidents(principal, command.incidents)
        events = decide_problem(command, None)
        metadata = EventMetadata(actor=principal.sub)
        stream = problem_stream(command.problem_id)
        async with self.store.engine.begin() as conn:
            guard = await IdempotencyGuard.claim(conn, IDEMPOTENCY_SCOPE, idempotency_key, request)
            if guard.replay is not None:
                return guard.replay
            new = [NewEvent.from_domain(e, metadata) for e in events]
            result = await self.store.append(stream, ExpectedVersion.NO_STREAM, new, conn=conn)
            state = None
            for event in events:
                state = evolve_problem(state, event)
            assert state is not None
            body = render(LoadedProblem(state, result.last_version, []))
            location = f"/v1/problems/{command.problem_id}"
            await guard.remember(201, body, location)
        return StoredResponse(201, body, location)

    async def execute(
        self,
        principal: Principal,
        problem_id: uuid.UUID,
        build: Callable[[str, Any], ProblemCommand],
        if_match: str | None,
    ) -> LoadedProblem:
        self.authorize(principal)
        loaded = await self.load(problem_id)
        if not matches(if_match, loaded.version):
            raise PreconditionFailed(if_match or "", loaded.version)
        command = build(principal.sub, self.clock())
        if isinstance(command, LinkIncident):
            await self.check_incidents(principal, (command.ticket_id,))
        events = decide_problem(command, loaded.problem)
        if not events:
            return loaded
        metadata = EventMetadata(actor=principal.sub)
        new = [NewEvent.from_domain(e, metadata) for e in events]
        result = await self.store.append(problem_stream(problem_id), loaded.version, new)
        state: Problem | None = loaded.problem
        for event in events:
            state = evolve_problem(state, event)
        assert state is not None
        return LoadedProblem(state, result.last_version, loaded.events)
