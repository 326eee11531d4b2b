"""Recurring incidents turned into a problem and a draft article, on the in-memory event store
and in-memory ports (no PostgreSQL): one problem per group, however many agents ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import EventMetadata, ExpectedVersion, NewEvent
from helpdesk_shared.http.idempotency import MemoryIdempotencyKeys
from helpdesk_ticket.adapters.memory import MemoryArticleIndex, MemoryRecurringGroups
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.errors import Forbidden, GroupHasProblem
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.application.recurring import RecurringGroup, RecurringIncidents
from helpdesk_ticket.application.tickets import TicketService, ticket_stream
from helpdesk_ticket.domain.errors import InvalidCommand
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
def groups() -> MemoryRecurringGroups:
    return MemoryRecurringGroups()


@pytest.fixture
def recurring(store: MemoryEventStore, groups: MemoryRecurringGroups) -> RecurringIncidents:
    tickets = TicketService(store, DEFAULT_POLICY, now)
    problems = ProblemService(store, tickets, MemoryIdempotencyKeys(), now)
    articles = ArticleService(store, tickets, MemoryArticleIndex(), now)
    return RecurringIncidents(problems, articles, groups)


async def incident(store: MemoryEventStore, groups: MemoryRecurringGroups, number: int) -> str:
    event = opened(at=now() - timedelta(hours=number)).model_copy(
        update={"reference": f"INC-2026-{number:06d}"}
    )
    new = NewEvent.from_domain(event, EventMetadata(actor="intake"))
    await store.append(ticket_stream(event.ticket_id), ExpectedVersion.NO_STREAM, [new])
    groups.references[event.reference] = event.ticket_id
    return event.reference


def printer_group(references: tuple[str, ...]) -> RecurringGroup:
    return RecurringGroup(
        category="printers", scope="asset", key="LASER-A-001", references=references
    )


async def test_a_group_becomes_one_problem_linking_its_incidents_and_a_draft_article(
    store: MemoryEventStore, groups: MemoryRecurringGroups, recurring: RecurringIncidents
) -> None:
    references = (await incident(store, groups, 1), await incident(store, groups, 2))
    made = await recurring.open_problem(NINA, printer_group(references))
    linked = {groups.references[r] for r in references}
    assert set(made.problem.state.incidents) == linked
    assert made.article.state.problem_id == made.problem.state.id
    assert set(made.article.state.from_tickets) == linked
    assert await groups.existing("printers", "asset:LASER-A-001") == (
        made.problem.state.id,
        made.article.state.id,
    )
    streams = {e.stream_id for e in await store.read_all()}
    assert f"problem-{made.problem.state.id}" in streams
    assert f"article-{made.article.state.id}" in streams


async def test_asking_again_for_the_same_group_names_its_problem(
    store: MemoryEventStore, groups: MemoryRecurringGroups, recurring: RecurringIncidents
) -> None:
    references = (await incident(store, groups, 1), await incident(store, groups, 2))
    first = await recurring.open_problem(NINA, printer_group(references))
    with pytest.raises(GroupHasProblem) as again:
        await recurring.open_problem(NINA, printer_group(references))
    assert again.value.problem_id == first.problem.state.id
    problems = {e.stream_id for e in await store.read_all() if e.category == "problem"}
    assert len(problems) == 1


async def test_unknown_references_and_a_single_incident_are_refused(
    store: MemoryEventStore, groups: MemoryRecurringGroups, recurring: RecurringIncidents
) -> None:
    known = await incident(store, groups, 1)
    with pytest.raises(InvalidCommand, match="INC-2026-999999"):
        await recurring.open_problem(NINA, printer_group((known, "INC-2026-999999")))
    with pytest.raises(InvalidCommand, match="at least two"):
        await recurring.open_problem(NINA, printer_group((known, known)))
    assert not [e for e in await store.read_all() if e.category != "ticket"]


async def test_requesters_do_not_open_problems(
    store: MemoryEventStore, groups: MemoryRecurringGroups, recurring: RecurringIncidents
) -> None:
    references = (await incident(store, groups, 1), await incident(store, groups, 2))
    with pytest.raises(Forbidden):
        await recurring.open_problem(ALICE, printer_group(references))
    assert await groups.existing("printers", "asset:LASER-A-001") is None
