"""ITIL problems: the cause of one or more incidents. Pure decide/evolve.

A problem may cause many incidents and an incident may have several causes, so links are facts
of the problem's stream. Once resolved, a problem takes no new links or workarounds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from helpdesk_shared.events.problem import (
    IncidentLinked,
    IncidentUnlinked,
    ProblemCreated,
    ProblemEvent,
    ProblemResolved,
    WorkaroundRecorded,
)
from helpdesk_shared.kernel import Decider
from helpdesk_ticket.domain.errors import InvalidCommand, ProblemNotFound, TransitionNotAllowed


class ProblemStatus(StrEnum):
    OPEN = "open"  # under investigation
    KNOWN_ERROR = "known_error"  # cause known, workaround documented
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Problem:
    id: uuid.UUID
    title: str
    description: str
    category: str | None
    status: ProblemStatus
    created_at: datetime
    created_by: str
    incidents: tuple[uuid.UUID, ...] = ()
    workaround: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, kw_only=True)
class ProblemCommand:
    by: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class CreateProblem(ProblemCommand):
    problem_id: uuid.UUID
    title: str
    description: str
    category: str | None = None
    incidents: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LinkIncident(ProblemCommand):
    ticket_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class UnlinkIncident(ProblemCommand):
    ticket_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class RecordWorkaround(ProblemCommand):
    workaround: str
    known_error: bool = False
    root_cause: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveProblem(ProblemCommand):
    resolution: str


_OPEN_COMMANDS = ["link", "unlink", "workaround", "resolve"]


def allowed_problem_commands(state: Problem) -> list[str]:
    return [] if state.status is ProblemStatus.RESOLVED else list(_OPEN_COMMANDS)


def decide_problem(command: ProblemCommand, state: Problem | None) -> list[ProblemEvent]:
    """The facts `command` records; links already made (or unmade) record nothing."""
    if isinstance(command, CreateProblem):
        return _create(command, state)
    if state is None:
        raise ProblemNotFound("no such problem")
    name = _NAMES[type(command)]
    if name not in allowed_problem_commands(state):
        raise TransitionNotAllowed(name, state.status.value, allowed_problem_commands(state))
    common = {"problem_id": state.id, "occurred_at": command.at, "by": command.by}
    if isinstance(command, LinkIncident):
        linked = command.ticket_id in state.incidents
        return [] if linked else [IncidentLinked(ticket_id=command.ticket_id, **common)]
    if isinstance(command, UnlinkIncident):
        if command.ticket_id not in state.incidents:
            return []
        return [IncidentUnlinked(ticket_id=command.ticket_id, **common)]
    if isinstance(command, RecordWorkaround):
        if command.known_error and not (command.root_cause or "").strip():
            raise InvalidCommand("root_cause", "a known error names its root cause")
        return [
            WorkaroundRecorded(
                workaround=command.workaround,
                known_error=command.known_error,
                root_cause=command.root_cause,
                **common,
            )
        ]
    assert isinstance(command, ResolveProblem)
    return [ProblemResolved(resolution=command.resolution, **common)]


def _create(command: CreateProblem, state: Problem | None) -> list[ProblemEvent]:
    if state is not None:
        raise TransitionNotAllowed("create", state.status.value, allowed_problem_commands(state))
    if not command.title.strip():
        raise InvalidCommand("title", "a problem needs a title")
    common = {"problem_id": command.problem_id, "occurred_at": command.at, "by": command.by}
    created: list[ProblemEvent] = [
        ProblemCreated(
            title=command.title,
            description=command.description,
            category=command.category,
            **common,
        )
    ]
    links = dict.fromkeys(command.incidents)  # keeps order, drops repeats
    return created + [IncidentLinked(ticket_id=t, **common) for t in links]


_NAMES: dict[type[ProblemCommand], str] = {
    LinkIncident: "link",
    UnlinkIncident: "unlink",
    RecordWorkaround: "workaround",
    ResolveProblem: "resolve",
}


def evolve_problem(state: Problem | None, event: ProblemEvent) -> Problem | None:
    if isinstance(event, ProblemCreated):
        return Problem(
            id=event.problem_id,
            title=event.title,
            description=event.description,
            category=event.category,
            status=ProblemStatus.OPEN,
            created_at=event.occurred_at,
            created_by=event.by,
            version=1,
        )
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, IncidentLinked):
        return replace(state, incidents=(*state.incidents, event.ticket_id))
    if isinstance(event, IncidentUnlinked):
        return replace(state, incidents=tuple(t for t in state.incidents if t != event.ticket_id))
    if isinstance(event, WorkaroundRecorded):
        status = ProblemStatus.KNOWN_ERROR if event.known_error else state.status
        return replace(
            state,
            workaround=event.workaround,
            root_cause=event.root_cause or state.root_cause,
            status=status,
        )
    if isinstance(event, ProblemResolved):
        return replace(
            state,
            status=ProblemStatus.RESOLVED,
            resolution=event.resolution,
            resolved_at=event.occurred_at,
        )
    return state


#: The problem as the kernel runs it: stream `problem-<id>`.
DECIDER: Decider[ProblemCommand, Problem, ProblemEvent] = Decider(
    category="problem", decide=decide_problem, evolve=evolve_problem, event_type=ProblemEvent
)
