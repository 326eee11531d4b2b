"""Knowledge article use cases: draft (from scratch or from a resolved ticket), revise, publish,
retire, suggest, record a resolution. The kernel's `AggregateService` runs the article decider;
the searchable row is written in the append's transaction (the `ArticleIndex` port), so a search
right after a command sees it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from helpdesk_shared.auth import Principal
from helpdesk_shared.events.article import ArticleEvent, Audience
from helpdesk_shared.eventstore.model import EventMetadata
from helpdesk_shared.http.idempotency import IdempotencyKeys, StoredResponse
from helpdesk_shared.kernel import AggregateService, Connection, EventStore, Loaded
from helpdesk_shared.kernel.command import Guard
from helpdesk_ticket.application.errors import REFUSALS, Forbidden
from helpdesk_ticket.application.keyed import Keyed, KeyedCommand, create_keyed, handle_keyed
from helpdesk_ticket.application.ports import ArticleFilter, ArticleHit, ArticleIndex
from helpdesk_ticket.application.tickets import Clock, TicketService
from helpdesk_ticket.domain.article import (
    DECIDER,
    Article,
    ArticleCommand,
    ArticleStatus,
    DraftArticle,
    RecordResolution,
    RecordSuggestion,
    allowed_article_commands,
)
from helpdesk_ticket.domain.article.prefill import content_from_ticket
from helpdesk_ticket.domain.errors import ArticleNotFound, InvalidCommand, TransitionNotAllowed

ArticleFactory = Callable[[str, datetime], ArticleCommand]
log = logging.getLogger(__name__)


def _not_found(article_id: uuid.UUID) -> ArticleNotFound:
    return ArticleNotFound(f"no article {article_id}")


def readable_by(principal: Principal, article: Article) -> bool:
    """Staff read every article; requesters the published FAQ entries only."""
    if principal.is_staff:
        return True
    return article.status is ArticleStatus.PUBLISHED and article.content.audience is Audience.PUBLIC


class ArticleService:
    def __init__(
        self,
        store: EventStore,
        tickets: TicketService,
        index: ArticleIndex,
        clock: Clock,
        idempotency: IdempotencyKeys | None = None,
    ) -> None:
        self.store = store
        self.idempotency = idempotency
        self.tickets = tickets
        self.index = index
        self.clock = clock
        self.aggregates: AggregateService[ArticleCommand, Article, ArticleEvent] = AggregateService(
            DECIDER, store, _not_found, refusals=REFUSALS
        )

    @staticmethod
    def authorize(principal: Principal) -> None:
        """Writing the knowledge base is the support staff's work."""
        if not principal.is_staff:
            raise Forbidden("articles are written by the support staff")

    async def load(self, article_id: uuid.UUID) -> Loaded[Article]:
        return await self.aggregates.current(article_id)

    async def read(self, principal: Principal, article_id: uuid.UUID) -> Loaded[Article]:
        loaded = await self.load(article_id)
        if not readable_by(principal, loaded.state):
            raise _not_found(article_id)  # drafts are not revealed
        return loaded

    async def rebuild_index(self) -> int:
        """Rewrite every searchable row from the streams; the number of articles."""
        ids = await self.index.article_ids()
        for article_id in ids:
            async with self.store.transaction() as conn:
                loaded = await self.aggregates.current(article_id, conn=conn)
                await self.index.project(conn, loaded.state)
        return len(ids)

    async def create_in(self, conn: Connection, command: DraftArticle) -> Loaded[Article]:
        """Draft on the caller's unit of work (the stream and its searchable row)."""
        metadata = EventMetadata(actor=command.by)
        loaded = await self.aggregates.create(
            command.article_id, command, metadata=metadata, conn=conn
        )
        await self.index.project(conn, loaded.state)
        return loaded

    async def draft(self, principal: Principal, command: DraftArticle) -> Loaded[Article]:
        self.authorize(principal)
        async with self.store.transaction() as conn:
            loaded = await self.create_in(conn, command)
        self.aggregates.committed(command.article_id, loaded)
        return loaded

    async def draft_once(
        self,
        principal: Principal,
        command: DraftArticle,
        keyed: Keyed,
        render: Callable[[Loaded[Article]], dict[str, Any]],
    ) -> StoredResponse:
        """`draft` under an `Idempotency-Key`: the key is claimed and the answer (201, `render`,
        `Location`) stored in the append's transaction, so a retry gets the first answer and
        drafts nothing more."""
        assert self.idempotency is not None, "the article service was built without keys"
        self.authorize(principal)
        created = (command.article_id, f"/v1/articles/{command.article_id}")

        async def create(conn: Connection) -> Loaded[Article]:
            return await self.create_in(conn, command)

        return await create_keyed(self.aggregates, self.idempotency, keyed, created, create, render)

    async def from_ticket(
        self, principal: Principal, ticket_id: uuid.UUID, audience: Audience
    ) -> DraftArticle:
        """The draft of a resolved ticket: its description and solution prefill the content."""
        self.authorize(principal)
        ticket = (await self.tickets.read(principal, ticket_id)).state
        return DraftArticle(
            by=principal.sub,
            at=self.clock(),
            article_id=uuid.uuid4(),
            content=content_from_ticket(ticket, audience),
            from_tickets=(ticket_id,),
        )

    async def execute(
        self,
        principal: Principal,
        article_id: uuid.UUID,
        build: ArticleFactory,
        if_match: str | None,
    ) -> Loaded[Article]:
        self.authorize(principal)
        return await self.aggregates.handle(
            article_id,
            lambda loaded: build(principal.sub, self.clock()),
            metadata=EventMetadata(actor=principal.sub),
            if_match=if_match,
            after=self.index.project,
            allowed=allowed_article_commands,
        )

    async def execute_once(
        self,
        principal: Principal,
        article_id: uuid.UUID,
        build: ArticleFactory,
        if_match: str | None,
        keyed: Keyed,
        render: Callable[[Loaded[Article]], dict[str, Any]],
    ) -> tuple[StoredResponse, bool]:
        """`execute` under an `Idempotency-Key` (`handle_keyed`, as ticket commands): applied
        once, a retry gets the first answer. True when the command ran now."""
        assert self.idempotency is not None, "the article service was built without keys"
        self.authorize(principal)
        command = KeyedCommand(
            lambda loaded: build(principal.sub, self.clock()),
            EventMetadata(actor=principal.sub),
            if_match,
            after=self.index.project,
            allowed=allowed_article_commands,
        )
        return await handle_keyed(
            self.aggregates, self.idempotency, article_id, keyed, command, render
        )

    async def check_usable(self, article_id: uuid.UUID) -> None:
        """A ticket is resolved with a published article only (checked before resolving)."""
        try:
            article = (await self.load(article_id)).state
        except ArticleNotFound:
            raise InvalidCommand("article_id", f"no article {article_id}") from None
        if article.status is not ArticleStatus.PUBLISHED:
            raise InvalidCommand("article_id", "only a published article resolves tickets")

    async def record_resolution(
        self, principal: Principal, article_id: uuid.UUID, ticket_id: uuid.UUID
    ) -> bool:
        """Count the resolution on the article; False when it was retired meanwhile (the
        ticket stays resolved: the count is the article's, not a condition of the resolution).
        Resolutions of many tickets land at once: a lost race is decided again."""
        command = RecordResolution(by=principal.sub, at=self.clock(), ticket_id=ticket_id)
        try:
            await self.aggregates.handle(
                article_id,
                _just(command),
                metadata=EventMetadata(actor=command.by),
                after=self.index.project,
            )
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
        suggested once per ticket (claimed in the transaction that appends the fact)."""
        audience = None if principal.is_staff else Audience.PUBLIC.value
        wanted = ArticleFilter(q=text, status="published", audience=audience, limit=limit)
        hits = await self.index.search(wanted)
        if category is not None and len(hits) > 1:
            hits.sort(key=lambda h: h.category != category)  # same category first, stable
        if ticket_id is None:
            return hits
        for hit in hits:
            command = RecordSuggestion(
                by=principal.sub, at=self.clock(), ticket_id=ticket_id, context=context
            )
            await self.aggregates.handle_once(
                hit.article_id,
                _just(command),
                self._first_suggestion(hit.article_id, ticket_id),
                metadata=EventMetadata(actor=command.by),
                after=self.index.project,
            )
        return hits

    def _first_suggestion(self, article_id: uuid.UUID, ticket_id: uuid.UUID) -> Guard:
        async def claim(conn: Connection) -> bool:
            return await self.index.claim_suggestion(conn, article_id, ticket_id)

        return claim


def _just(command: ArticleCommand) -> Callable[[Loaded[Article]], ArticleCommand]:
    """A usage fact's command is known before loading: whatever the state, this one."""
    return lambda loaded: command
