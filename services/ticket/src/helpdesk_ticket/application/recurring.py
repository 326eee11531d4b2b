"""Recurring incidents (the groups metrics computes) turned into a problem and a draft article
in one call. A group (category + asset or department) gets one problem: the claim on
`ticket.recurring_groups` is taken in the transaction that appends both streams, so two agents
acting at once get one problem and one 409 naming it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from helpdesk_shared.auth import Principal
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.errors import GroupHasProblem
from helpdesk_ticket.application.ports import RecurringGroups
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.domain.article import Article, DraftArticle
from helpdesk_ticket.domain.article.prefill import content_from_group
from helpdesk_ticket.domain.errors import InvalidCommand
from helpdesk_ticket.domain.problem import CreateProblem, Problem
from helpdesk_ticket.domain.ticket.state import Ticket


@dataclass(frozen=True)
class RecurringGroup:
    """A problem candidate as metrics reports it."""

    category: str
    scope: str  # "asset" or "department"
    key: str
    references: tuple[str, ...] = ()
    ticket_ids: tuple[uuid.UUID, ...] = ()

    @property
    def group_key(self) -> str:
        return f"{self.scope}:{self.key}"


@dataclass(frozen=True)
class ProblemWithArticle:
    problem: Loaded[Problem]
    article: Loaded[Article]


class RecurringIncidents:
    def __init__(
        self, problems: ProblemService, articles: ArticleService, groups: RecurringGroups
    ) -> None:
        self.problems = problems
        self.articles = articles
        self.groups = groups

    async def existing(self, group: RecurringGroup) -> tuple[uuid.UUID, uuid.UUID] | None:
        return await self.groups.existing(group.category, group.group_key)

    async def _ticket_ids(self, group: RecurringGroup) -> tuple[uuid.UUID, ...]:
        ids = list(group.ticket_ids)
        if group.references:
            refs = list(dict.fromkeys(group.references))
            known = await self.groups.ticket_ids(refs)
            missing = [r for r in refs if r not in known]
            if missing:
                raise InvalidCommand("references", f"unknown tickets: {', '.join(missing)}")
            ids += [known[r] for r in refs]
        ids = list(dict.fromkeys(ids))
        if len(ids) < 2:
            raise InvalidCommand("references", "a recurrence links at least two incidents")
        return tuple(ids)

    async def open_problem(self, principal: Principal, group: RecurringGroup) -> ProblemWithArticle:
        """Create the group's problem (linking its incidents) and a draft article; the group is
        claimed in the transaction that appends both streams."""
        self.problems.authorize(principal)
        if (found := await self.existing(group)) is not None:
            raise GroupHasProblem(*found)
        ticket_ids = await self._ticket_ids(group)
        await self.problems.check_incidents(principal, ticket_ids)
        tickets = [(await self.articles.tickets.current(t)).state for t in ticket_ids]
        create, draft = _commands(group, tickets, principal.sub, self.problems.clock())
        async with self.problems.store.transaction() as conn:
            holder = await self.groups.claim(
                conn, group.category, group.group_key, create.problem_id, draft.article_id
            )
            if holder is not None:
                raise GroupHasProblem(*holder)
            problem = await self.problems.aggregates.create(
                create.problem_id, create, metadata=EventMetadata(actor=principal.sub), conn=conn
            )
            article = await self.articles.create_in(conn, draft)
        self.problems.aggregates.committed(create.problem_id, problem)
        self.articles.aggregates.committed(draft.article_id, article)
        return ProblemWithArticle(problem, article)


def _commands(
    group: RecurringGroup, tickets: list[Ticket], by: str, now: datetime
) -> tuple[CreateProblem, DraftArticle]:
    """The problem linking the group's incidents and the draft article written from them."""
    ticket_ids = tuple(t.id for t in tickets)
    create = CreateProblem(
        by=by,
        at=now,
        problem_id=uuid.uuid4(),
        title=f"Incidents récurrents : {group.category} ({group.scope} {group.key})",
        description="\n".join(f"{t.reference} : {t.subject}" for t in tickets),
        category=group.category,
        incidents=ticket_ids,
    )
    draft = DraftArticle(
        by=by,
        at=now,
        article_id=uuid.uuid4(),
        content=content_from_group(tickets, group.category, group.key),
        from_tickets=ticket_ids,
        problem_id=create.problem_id,
    )
    return create, draft
