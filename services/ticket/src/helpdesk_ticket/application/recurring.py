"""Recurring incidents (the groups metrics computes) turned into a problem and a draft article
in one call. A group (category + asset or department) gets one problem: the claim on
`ticket.recurring_groups` is taken in the transaction that appends both streams, so two agents
acting at once get one problem and one 409 naming it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.auth import Principal
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.kernel import Loaded
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.errors import GroupHasProblem
from helpdesk_ticket.application.problems import ProblemService
from helpdesk_ticket.domain.article import Article, DraftArticle
from helpdesk_ticket.domain.article.prefill import content_from_group
from helpdesk_ticket.domain.errors import InvalidCommand
from helpdesk_ticket.domain.problem import CreateProblem, Problem

_CLAIM = text(
    """INSERT INTO ticket.recurring_groups (category, group_key, problem_id, article_id)
    VALUES (:category, :key, :problem_id, :article_id)
    ON CONFLICT DO NOTHING RETURNING problem_id"""
)
_EXISTING = text(
    """SELECT problem_id, article_id FROM ticket.recurring_groups
    WHERE category = :category AND group_key = :key"""
)
_BY_REFERENCE = text(
    "SELECT reference, ticket_id FROM ticket.tickets WHERE reference = ANY(:references)"
)


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
    """Stays on PostgreSQL: the group claim and the ticket references are SQL of its own, in
    the transaction of the event store that appends both streams."""

    def __init__(
        self, problems: ProblemService, articles: ArticleService, engine: AsyncEngine
    ) -> None:
        self.problems = problems
        self.articles = articles
        self.engine = engine

    async def existing(self, group: RecurringGroup) -> tuple[uuid.UUID, uuid.UUID] | None:
        params = {"category": group.category, "key": group.group_key}
        async with self.engine.connect() as conn:
            found = (await conn.execute(_EXISTING, params)).first()
        return (found.problem_id, found.article_id) if found else None

    async def _ticket_ids(self, group: RecurringGroup) -> tuple[uuid.UUID, ...]:
        ids = list(group.ticket_ids)
        if group.references:
            refs = list(dict.fromkeys(group.references))
            async with self.engine.connect() as conn:
                rows = (await conn.execute(_BY_REFERENCE, {"references": refs})).all()
            known = {r.reference: r.ticket_id for r in rows}
            missing = [r for r in refs if r not in known]
            if missing:
                raise InvalidCommand("references", f"unknown tickets: {', '.join(missing)}")
            ids += [known[r] for r in refs]
        ids = list(dict.fromkeys(ids))
        if len(ids) < 2:
            raise InvalidCommand("references", "a recurrence links at least two incidents")
        return tuple(ids)

    async def open_problem(self, principal: Principal, group: RecurringGroup) -> ProblemWithArticle:
        """Create the group's problem (linking its incidents) and a draft article."""
        self.problems.authorize(principal)
        if (found := await self.existing(group)) is not None:
            raise GroupHasProblem(*found)
        ticket_ids = await self._ticket_ids(group)
        await self.problems.check_incidents(principal, ticket_ids)
        tickets = [(await self.articles.tickets.current(t)).state for t in ticket_ids]
        now, by = self.problems.clock(), principal.sub
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
        params = {
            "category": group.category,
            "key": group.group_key,
            "problem_id": create.problem_id,
            "article_id": draft.article_id,
        }
        async with self.problems.store.transaction() as conn:
            if (await conn.execute(_CLAIM, params)).first() is None:
                found = (await conn.execute(_EXISTING, params)).one()
                raise GroupHasProblem(found.problem_id, found.article_id)
            problem = await self.problems.aggregates.create(
                create.problem_id, create, metadata=EventMetadata(actor=by), conn=conn
            )
            article = await self.articles.create_in(conn, draft)
        self.problems.aggregates.committed(create.problem_id, problem)
        self.articles.aggregates.committed(draft.article_id, article)
        return ProblemWithArticle(problem, article)
