"""Knowledge article use cases: draft (from scratch or from a resolved ticket), revise, publish,
retire, suggest, record a resolution. Same cycle as tickets (load, decide, append at the version
decided on); the searchable row is written in the append's transaction, so a search right after a
command sees it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.article import ArticleEvent, Audience
from helpdesk_shared.eventstore.model import (
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    stream_id,
)
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters import article_search
from helpdesk_ticket.adapters.article_search import ArticleFilter, ArticleHit
from helpdesk_ticket.application.errors import Forbidden, PreconditionFailed
from helpdesk_ticket.application.tickets import Clock, TicketService, matches
from helpdesk_ticket.domain.article import (
    Article,
    ArticleCommand,
    ArticleStatus,
    DraftArticle,
    RecordResolution,
    RecordSuggestion,
    decide_article,
    evolve_article,
)
from helpdesk_ticket.domain.article_prefill import content_from_ticket
from helpdesk_ticket.domain.errors import ArticleNotFound, InvalidCommand, TransitionNotAllowed

Guard = Callable[[AsyncConnection], Awaitable[bool]]
_RETRIES = 3
log = logging.getLogger(__name__)


def article_stream(article_id: uuid.UUID) -> str:
    return stream_id("article", article_id)


@dataclass(frozen=True)
class LoadedArticle:
    article: Article
    version: int
    events: list[RecordedEvent]


def _replay(events: list[RecordedEvent]) -> Article | None:
    state: Article | None = None
    for recorded in events:
        event = recorded.to_domain()
        if isinstance(event, ArticleEvent):
            state = evolve_article(state, event)
    return state


def readable_by(principal: Principal, article: Article) -> bool:
    """Staff read every article; requesters the published FAQ entries only."""
    if principal.is_staff:
        return True
    return article.status is ArticleStatus.PUBLISHED and article.content.audience is Audience.PUBLIC


class ArticleService:
    def __init__(self, store: EventStore, tickets: TicketService, clock: Clock) -> None:
        self.store = store
        self.tickets = tickets
        self.clock = clock

    @staticmethod
    def authorize(principal: Principal) -> None:
        """Writing the knowledge base is the support staff's work."""
        if not principal.is_staff:
            raise Forbidden("articles are written by the support staff")

    async def load(
        self, article_id: uuid.UUID, conn: AsyncConnection | None = None
    ) -> LoadedArticle:
        events = await self.store.read_stream(article_stream(article_id), conn=conn)
        state = _replay(events)
        if state is None:
            raise ArticleNotFound(f"no article {article_id}")
        return LoadedArticle(state, events[-1].version, events)

    async def read(self, principal: Principal, article_id: uuid.UUID) -> LoadedArticle:
        loaded = await self.load(article_id)
        if not readable_by(principal, loaded.article):
            raise ArticleNotFound(f"no article {article_id}")  # drafts are not revealed
        return loaded

    async def append(
        self,
        conn: AsyncConnection,
        before: LoadedArticle | None,
        article_id: uuid.UUID,
        events: list[ArticleEvent],
        actor: str,
    ) -> LoadedArticle:
        """Append `events` at the version decided on and write the searchable row."""
        if not events:
            assert before is not None
            return before
        expected = before.version if before else ExpectedVersion.NO_STREAM
        metadata = EventMetadata(actor=actor)
        new = [NewEvent.from_domain(e, metadata) for e in events]
        result = await self.store.append(article_stream(article_id), expected, new, conn=conn)
        state = before.article if before else None
        for event in events:
            state = evolve_article(state, event)
        assert state is not None
        await article_search.project(conn, state)
        return LoadedArticle(state, result.last_version, before.events if before else [])

    async def rebuild_index(self) -> int:
        """Rewrite every row of `ticket.articles` from the streams; the number of articles."""
        ids = await article_search.article_ids(self.store.engine)
        for article_id in ids:
            async with self.store.engine.begin() as conn:
                loaded = await self.load(article_id, conn)
                await article_search.project(conn, loaded.article)
        return len(ids)

    async def draft(self, principal: Principal, command: DraftArticle) -> LoadedArticle:
        self.authorize(principal)
        events = decide_article(command, None)
        async with self.store.engine.begin() as conn:
            return await self.append(conn, None, command.article_id, events, principal.sub)

    async def draft_from_ticket(
        self, principal: Principal, ticket_id: uuid.UUID, audience: Audience
    ) -> LoadedArticle:
        """One call from a resolved ticket: its description and solution prefill the draft."""
        self.authorize(principal)
        ticket = (await self.tickets.read(principal, ticket_id)).ticket
        command = DraftArticle(
            by=principal.sub,
            at=self.clock(),
            article_id=uuid.uuid4(),
            content=content_from_ticket(ticket, audience),
            from_tickets=(ticket_id,),
        )
        return await self.draft(principal, command)

    async def execute(
        self,
        principal: Principal,
        article_id: uuid.UUID,
        build: Callable[[str, datetime], ArticleCommand],
        if_match: str | None,
    ) -> LoadedArticle:
        self.authorize(principal)
        async with self.store.engine.begin() as conn:
            loaded = await self.load(article_id, conn)
            if not matches(if_match, loaded.version):
                raise PreconditionFailed(if_match or "", loaded.version)
            events = decide_article(build(principal.sub, self.clock()), loaded.article)
            return await self.append(conn, loaded, article_id, events, principal.sub)

    async def _record(
        self, article_id: uuid.UUID, command: ArticleCommand, once: Guard | None = None
    ) -> None:
        """Usage facts from many tickets at once: a lost race is retried on the fresh stream.
        `once` (in the same transaction) says whether this fact was not recorded yet."""
        for attempt in range(_RETRIES):
            try:
                async with self.store.engine.begin() as conn:
                    if once is not None and not await once(conn):
                        return
                    loaded = await self.load(article_id, conn)
                    events = decide_article(command, loaded.article)
                    await self.append(conn, loaded, article_id, events, command.by)
                    return
            except ConcurrencyConflict:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def check_usable(self, article_id: uuid.UUID) -> None:
        """A ticket is resolved with a published article only (checked before resolving)."""
        try:
            article = (await self.load(article_id)).article
        except ArticleNotFound:
            raise InvalidCommand("article_id", f"no article {article_id}") from None
        if article.status is not ArticleStatus.PUBLISHED:
            raise InvalidCommand("article_id", "only a published article resolves tickets")

    async def record_resolution(
        self, principal: Principal, article_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> bool:
        """Count the resolution on the article; False when it was retired meanwhile (the
        ticket stays resolved: the count is the article's, not a condition of the resolution)."""
        command = RecordResolution(by=principal.sub, at=self.clock(), ticket_id=ticket_id)
        try:
            await self._record(article_id, command)
        except TransitionNotAllowed:
            log.warning(
                "article %s retired before ticket %s's resolution was counted",
                article_id,
                ticket_id,
            )
            return False
        return True

    async def suggest(
        self,
        principal: Principal,
        text: str,
        *,
        category: str | None = None,
        ticket_id: uuid.UUID | None = None,
        context: str = "ticket",
        limit: int = 3,
    ) -> list[ArticleHit]:
        """The best-matching published articles the caller may read; each is counted as
        suggested once per ticket."""
        audience = None if principal.is_staff else Audience.PUBLIC.value
        wanted = ArticleFilter(q=text, status="published", audience=audience, limit=limit)
        hits = await article_search.search(self.store.engine, wanted)
        if category is not None and len(hits) > 1:
            hits.sort(key=lambda h: h.category != category)  # same category first, stable
        if ticket_id is None:
            return hits
        for hit in hits:
            command = RecordSuggestion(
                by=principal.sub, at=self.clock(), ticket_id=ticket_id, context=context
            )
            await self._record(
                hit.article_id, command, _first_suggestion(hit.article_id, ticket_id)
            )
        return hits


def _first_suggestion(article_id: uuid.UUID, ticket_id: uuid.UUID) -> Guard:
    async def claim(conn: AsyncConnection) -> bool:
        return await article_search.claim_suggestion(conn, article_id, ticket_id)

    return claim
