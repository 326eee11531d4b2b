"""The article handlers on the in-memory event store and search index (no PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_shared.auth import Principal, Role
from helpdesk_shared.events.article import ArticleContent, Audience
from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.kernel import PreconditionFailed
from helpdesk_ticket.adapters.memory import MemoryArticleIndex
from helpdesk_ticket.application.articles import ArticleService
from helpdesk_ticket.application.errors import Forbidden
from helpdesk_ticket.application.tickets import TicketService
from helpdesk_ticket.domain import article as a
from helpdesk_ticket.domain.errors import ArticleNotFound
from helpdesk_ticket.domain.ticket.policy import DEFAULT_POLICY

NINA = Principal(sub="nina", roles=frozenset({Role.AGENT}), level=2, groups=frozenset({"desk"}))
ALICE = Principal(sub="alice", roles=frozenset({Role.REQUESTER}))


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def index() -> MemoryArticleIndex:
    return MemoryArticleIndex()


@pytest.fixture
def articles(index: MemoryArticleIndex) -> ArticleService:
    store = MemoryEventStore()
    return ArticleService(store, TicketService(store, DEFAULT_POLICY, now), index, now)


def draft(audience: Audience = Audience.PUBLIC) -> a.DraftArticle:
    content = ArticleContent(
        title="Imprimante bloquée", symptom="l'imprimante n'imprime plus", audience=audience
    )
    return a.DraftArticle(by="nina", at=now(), article_id=uuid.uuid4(), content=content)


def publish(by: str, at: datetime) -> a.ArticleCommand:
    return a.PublishArticle(by=by, at=at)


def retire(by: str, at: datetime) -> a.ArticleCommand:
    return a.RetireArticle(by=by, at=at, reason="obsolète")


async def test_each_command_writes_the_searchable_row_with_its_events(
    articles: ArticleService, index: MemoryArticleIndex
) -> None:
    drafted = await articles.draft(NINA, draft())
    article_id = drafted.state.id
    assert index.rows[article_id].status is a.ArticleStatus.DRAFT
    with pytest.raises(ArticleNotFound):
        await articles.read(ALICE, article_id)  # a draft is not revealed to requesters
    with pytest.raises(PreconditionFailed):
        await articles.execute(NINA, article_id, publish, if_match='"7"')
    published = await articles.execute(NINA, article_id, publish, if_match='"1"')
    assert published.version == 2
    assert index.rows[article_id].status is a.ArticleStatus.PUBLISHED
    assert (await articles.read(ALICE, article_id)).version == 2
    with pytest.raises(Forbidden):
        await articles.execute(ALICE, article_id, retire, if_match=None)


async def test_suggestions_and_resolutions_are_counted_once_per_ticket(
    articles: ArticleService, index: MemoryArticleIndex
) -> None:
    article_id = (await articles.draft(NINA, draft())).state.id
    await articles.execute(NINA, article_id, publish, if_match=None)
    ticket_id = uuid.uuid4()
    for _ in range(2):
        hits = await articles.suggest(NINA, "imprimante", ticket_id=ticket_id)
        assert [h.article_id for h in hits] == [article_id]
    assert (await articles.load(article_id)).state.suggested == 1
    assert await articles.record_resolution(NINA, article_id, ticket_id)
    assert await articles.record_resolution(NINA, article_id, ticket_id)
    assert (await articles.load(article_id)).state.solved == (ticket_id,)
    assert index.rows[article_id].solved == (ticket_id,)

    await articles.execute(NINA, article_id, retire, if_match=None)
    assert not await articles.record_resolution(NINA, article_id, uuid.uuid4())
    assert await articles.rebuild_index() == 1
