import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_shared.events.problem import IncidentLinked, ProblemCreated, ProblemEvent
from helpdesk_ticket.domain.errors import InvalidCommand, ProblemNotFound, TransitionNotAllowed
from helpdesk_ticket.domain.problem import (
    CreateProblem,
    LinkIncident,
    Problem,
    ProblemCommand,
    ProblemStatus,
    RecordWorkaround,
    ResolveProblem,
    UnlinkIncident,
    decide_problem,
    evolve_problem,
)

T = datetime(2024, 12, 2, 8, tzinfo=UTC)
A, B = uuid.uuid4(), uuid.uuid4()


def run(state: Problem | None, *commands: ProblemCommand) -> tuple[Problem, list[ProblemEvent]]:
    recorded: list[ProblemEvent] = []
    for command in commands:
        for event in decide_problem(command, state):
            state = evolve_problem(state, event)
            recorded.append(event)
    assert state is not None
    return state, recorded


def created() -> Problem:
    state, _ = run(
        None,
        CreateProblem(
            by="nina",
            at=T,
            problem_id=uuid.uuid4(),
            title="Switch du 2e",
            description="…",
            incidents=(A, A),
        ),
    )
    return state


def test_create_links_the_known_incidents_once() -> None:
    state, events = run(
        None,
        CreateProblem(
            by="n", at=T, problem_id=uuid.uuid4(), title="x", description="y", incidents=(A, B, A)
        ),
    )
    assert [type(e) for e in events] == [ProblemCreated, IncidentLinked, IncidentLinked]
    assert state.incidents == (A, B)


def test_an_incident_may_have_several_causes_and_links_are_idempotent() -> None:
    first, second = created(), created()
    assert A in first.incidents
    assert A in second.incidents
    _, events = run(first, LinkIncident(by="n", at=T, ticket_id=A))
    assert events == []
    state, _ = run(
        first, LinkIncident(by="n", at=T, ticket_id=B), UnlinkIncident(by="n", at=T, ticket_id=A)
    )
    assert state.incidents == (B,)


def test_known_error_needs_its_root_cause() -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide_problem(
            RecordWorkaround(by="n", at=T, workaround="reboot", known_error=True), created()
        )
    assert refused.value.field == "root_cause"
    state, _ = run(
        created(),
        RecordWorkaround(
            by="n", at=T, workaround="reboot", known_error=True, root_cause="firmware"
        ),
    )
    assert state.status is ProblemStatus.KNOWN_ERROR


def test_a_resolved_problem_takes_nothing_more() -> None:
    state, _ = run(created(), ResolveProblem(by="n", at=T, resolution="firmware upgraded"))
    assert state.status is ProblemStatus.RESOLVED
    with pytest.raises(TransitionNotAllowed) as refused:
        decide_problem(LinkIncident(by="n", at=T, ticket_id=B), state)
    assert refused.value.allowed == []


def test_commands_need_a_problem() -> None:
    with pytest.raises(ProblemNotFound):
        decide_problem(LinkIncident(by="n", at=T, ticket_id=B), None)
