"""Problem use cases: create, link incidents, workaround, resolve (each idempotent with an
`Idempotency-Key`). The kernel's `AggregateService` runs the problem decider, as for tickets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.problem import ProblemEvent
from helpdesk_shared.events.ticket import TicketType
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.http.idempotency import IdempotencyKeys, StoredResponse
from helpdesk_shared.kernel import AggregateService, Connection, EventStore, Loaded
from helpdesk_shared.kernel.command import Check
from helpdesk_ticket.application.authorization import can_read
from helpdesk_ticket.application.errors import REFUSALS, Forbidden
from helpdesk_ticket.application.keyed import Keyed, KeyedCommand, create_keyed, handle_keyed
from helpdesk_ticket.application.tickets import Clock, TicketService
from helpdesk_ticket.domain.errors import InvalidCommand, ProblemNotFound, TicketNotFound
from helpdesk_ticket.domain.problem import (
    DECIDER,
    CreateProblem,
    LinkIncident,
    Problem,
    ProblemCommand,
    allowed_problem_commands,
)

ProblemFactory = Callable[[str, datetime], ProblemCommand]
#: Keys are unique per caller, as on every other keyed route: two people's clients may pick the
#: same key without meeting each other's answers.
IDEMPOTENCY_SCOPE = "ticket:POST /v1/problems"


def _not_found(problem_id: uuid.UUID) -> ProblemNotFound:
    return ProblemNotFound(f"no problem {problem_id}")


class ProblemService:
    def __init__(
        self,
        store: EventStore,
        tickets: TicketService,
        idempotency: IdempotencyKeys,
        clock: Clock,
    ) -> None:
        self.store = store
        self.tickets = tickets
        self.idempotency = idempotency
        self.clock = clock
        self.aggregates: AggregateService[ProblemCommand, Problem, ProblemEvent] = AggregateService(
            DECIDER, store, _not_found, refusals=REFUSALS
        )

    @staticmethod
    def authorize(principal: Principal) -> None:
        """Problem management is the support staff's work; requesters do not see problems."""
        if not principal.is_staff:
            raise Forbidden("problems are managed by the support staff")

    async def load(self, problem_id: uuid.UUID) -> Loaded[Problem]:
        return await self.aggregates.current(problem_id)

    async def check_incidents(
        self, principal: Principal, ticket_ids: tuple[uuid.UUID, ...]
    ) -> None:
        """Each incident exists and the caller may read it: a problem (and the draft article
        made with it) copies its incidents' references and subjects, so linking a ticket one
        may not read would show it; such a ticket is unknown, as its own routes answer 404."""
        for ticket_id in ticket_ids:
            try:
                ticket = (await self.tickets.current(ticket_id)).state
            except TicketNotFound:
                raise InvalidCommand("ticket_id", f"no ticket {ticket_id}") from None
            if not can_read(principal, ticket):
                raise InvalidCommand("ticket_id", f"no ticket {ticket_id}")
            if ticket.type is not TicketType.INCIDENT:
                raise InvalidCommand("ticket_id", f"{ticket.reference} is not an incident")

    async def create(
        self,
        principal: Principal,
        command: CreateProblem,
        idempotency_key: str | None,
        request: dict[str, Any],
        render: Callable[[Loaded[Problem]], dict[str, Any]],
    ) -> StoredResponse:
        """Create a problem; a retry with the same key answers the first answer again (the key
        is claimed and its answer stored in the append's transaction)."""
        self.authorize(principal)
        await self.check_incidents(principal, command.incidents)
        metadata = EventMetadata(actor=principal.sub)
        keyed = Keyed(f"{IDEMPOTENCY_SCOPE}:{principal.sub}", idempotency_key, request)
        created = (command.problem_id, f"/v1/problems/{command.problem_id}")

        async def create(conn: Connection) -> Loaded[Problem]:
            return await self.aggregates.create(
                command.problem_id, command, metadata=metadata, conn=conn
            )

        return await create_keyed(self.aggregates, self.idempotency, keyed, created, create, render)

    async def execute(
        self,
        principal: Principal,
        problem_id: uuid.UUID,
        build: ProblemFactory,
        if_match: str | None,
    ) -> Loaded[Problem]:
        self.authorize(principal)
        return await self.aggregates.handle(
            problem_id,
            lambda loaded: build(principal.sub, self.clock()),
            metadata=EventMetadata(actor=principal.sub),
            if_match=if_match,
            check=self._linkable(principal),
            allowed=allowed_problem_commands,
        )

    async def execute_once(
        self,
        principal: Principal,
        problem_id: uuid.UUID,
        build: ProblemFactory,
        if_match: str | None,
        keyed: Keyed,
        render: Callable[[Loaded[Problem]], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """`execute` under an `Idempotency-Key` (`handle_keyed`, as ticket commands): applied
        once, a retry gets the first answer. True when the command ran now."""
        self.authorize(principal)
        command = KeyedCommand(
            lambda loaded: build(principal.sub, self.clock()),
            EventMetadata(actor=principal.sub),
            if_match,
            check=self._linkable(principal),
            allowed=allowed_problem_commands,
        )
        return await handle_keyed(
            self.aggregates, self.idempotency, problem_id, keyed, command, render
        )

    def _linkable(self, principal: Principal) -> Check[ProblemCommand, Problem]:
        """A linked incident must exist and be readable by the caller (see `check_incidents`)."""

        async def linkable(command: ProblemCommand, loaded: Loaded[Problem]) -> None:
            if isinstance(command, LinkIncident):
                await self.check_incidents(principal, (command.ticket_id,))

        return linkable
