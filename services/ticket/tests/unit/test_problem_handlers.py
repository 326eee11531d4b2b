"""The problem handlers on the in-memory event store and idempotency keys (no PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.http.idempotency import MemoryIdempotencyKeys
from helpdesk_shared.http.problems import Problem as ProblemDetails
from helpdesk_shared.kernel import Loaded, PreconditionFailed
from helpdesk_ticket.application.errors import Forbidden
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain import problem as p
from helpdesk_ticket.domain.errors import InvalidCommand, ProblemNotFound, TransitionNotAllowed
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY
from helpdesk_ticket.testing import opened

NINA = Principal(sub="nina", roles=frozenset({Role.AGENT}), level=2, groups=frozenset({"desk"}))
ALICE = Principal(sub="alice", roles=frozenset({Role.REQUESTER}))


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.fixture
def problems(store: MemoryEventStore) -> ProblemService:
    tickets = TicketService(store, DEFAULT_POLICY, now)
    return ProblemService(store, tickets, MemoryIdempotencyKeys(), now)


async def incident(store: MemoryEventStore, requester: str = "alice") -> uuid.UUID:
    event = opened(at=now() - timedelta(hours=1), requester=requester)
    new = NewEvent.from_domain(event, EventMetadata(actor="intake"))
    await store.append(ticket_stream(event.ticket_id), ExpectedVersion.NO_STREAM, [new])
    return event.ticket_id


def render(loaded: Loaded[p.Problem]) -> dict[str, Any]:
    return {"id": str(loaded.state.id), "version": loaded.version}


def creation(incidents: tuple[uuid.UUID, ...] = ()) -> p.CreateProblem:
    return p.CreateProblem(
        by="nina",
        at=now(),
        problem_id=uuid.uuid4(),
        title="Switch du 2e étage",
        description="Coupures réseau répétées",
        incidents=incidents,
    )


async def test_create_with_a_key_answers_the_first_answer_again(
    store: MemoryEventStore, problems: ProblemService
) -> None:
    ticket_id = await incident(store)
    request = {"title": "Switch"}
    first = await problems.create(NINA, creation((ticket_id,)), "key-1", request, render)
    again = await problems.create(NINA, creation((ticket_id,)), "key-1", request, render)
    assert first == again
    assert first.status_code == 201
    assert first.body["version"] == 2  # created, then the incident linked
    assert (await store.read_all())[-1].stream_id == f"problem-{first.body['id']}"
    streams = {e.stream_id for e in await store.read_all() if e.category == "problem"}
    assert len(streams) == 1
    with pytest.raises(ProblemDetails) as reused:
        await problems.create(NINA, creation(), "key-1", {"title": "autre"}, render)
    assert reused.value.status == 422


async def test_only_readable_incidents_are_linked_and_only_by_staff(
    store: MemoryEventStore, problems: ProblemService
) -> None:
    with pytest.raises(Forbidden):
        await problems.create(ALICE, creation(), None, {}, render)
    with pytest.raises(InvalidCommand) as unknown:
        await problems.create(NINA, creation((uuid.uuid4(),)), None, {}, render)
    assert unknown.value.field == "ticket_id"
    assert await store.read_all() == []


async def test_commands_run_through_the_kernel_with_if_match(
    store: MemoryEventStore, problems: ProblemService
) -> None:
    made = await problems.create(NINA, creation(), None, {}, render)
    problem_id = uuid.UUID(made.body["id"])
    ticket_id = await incident(store)

    def link(by: str, at: datetime) -> p.ProblemCommand:
        return p.LinkIncident(by=by, at=at, ticket_id=ticket_id)

    def resolve(by: str, at: datetime) -> p.ProblemCommand:
        return p.ResolveProblem(by=by, at=at, resolution="switch remplacé")

    linked = await problems.execute(NINA, problem_id, link, if_match='"1"')
    assert linked.state.incidents == (ticket_id,)
    assert linked.version == 2
    with pytest.raises(PreconditionFailed):
        await problems.execute(NINA, problem_id, resolve, if_match='"1"')
    resolved = await problems.execute(NINA, problem_id, resolve, if_match=None)
    assert resolved.state.status is p.ProblemStatus.RESOLVED
    with pytest.raises(TransitionNotAllowed) as closed:
        await problems.execute(NINA, problem_id, link, if_match=None)
    assert closed.value.allowed == []
    with pytest.raises(ProblemNotFound):
        await problems.execute(NINA, uuid.uuid4(), resolve, if_match=None)
    assert await store.stream_version(f"problem-{problem_id}") == 3
