"""Knowledge articles: resolution scenarios drawn from the incidents. Pure decide/evolve.

Content is versioned: each draft or revision is a new version and the previous ones are kept, so
the history of a scenario stays readable. Only a published article is suggested or shown as a
FAQ entry; a retired one takes no command but its history stays.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from helpdesk_shared.events.article import (
    ArticleContent,
    ArticleDrafted,
    ArticleEvent,
    ArticlePublished,
    ArticleRetired,
    ArticleRevised,
    ArticleSuggested,
    ArticleUsedInResolution,
)
from helpdesk_shared.kernel import Decider
from helpdesk_ticket.domain.errors import ArticleNotFound, InvalidCommand, TransitionNotAllowed


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


@dataclass(frozen=True)
class ContentVersion:
    """One version of the content, who wrote it and when."""

    number: int
    content: ArticleContent
    by: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class Article:
    id: uuid.UUID
    status: ArticleStatus
    versions: tuple[ContentVersion, ...]
    created_at: datetime
    created_by: str
    from_tickets: tuple[uuid.UUID, ...] = ()
    problem_id: uuid.UUID | None = None
    published_version: int | None = None
    published_at: datetime | None = None
    retired_at: datetime | None = None
    suggested: int = 0
    solved: tuple[uuid.UUID, ...] = field(default=())
    version: int = 0

    @property
    def content(self) -> ArticleContent:
        return self.versions[-1].content

    @property
    def content_version(self) -> int:
        return self.versions[-1].number


@dataclass(frozen=True, kw_only=True)
class ArticleCommand:
    by: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class DraftArticle(ArticleCommand):
    article_id: uuid.UUID
    content: ArticleContent
    from_tickets: tuple[uuid.UUID, ...] = ()
    problem_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class ReviseArticle(ArticleCommand):
    content: ArticleContent
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class PublishArticle(ArticleCommand):
    pass


@dataclass(frozen=True, kw_only=True)
class RetireArticle(ArticleCommand):
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordSuggestion(ArticleCommand):
    ticket_id: uuid.UUID | None = None
    context: str = "ticket"


@dataclass(frozen=True, kw_only=True)
class RecordResolution(ArticleCommand):
    ticket_id: uuid.UUID


_NAMES: dict[type[ArticleCommand], str] = {
    ReviseArticle: "revise",
    PublishArticle: "publish",
    RetireArticle: "retire",
    RecordSuggestion: "suggest",
    RecordResolution: "use",
}
_ALLOWED: dict[ArticleStatus, list[str]] = {
    ArticleStatus.DRAFT: ["revise", "publish", "retire"],
    # A published article may be revised (the new version is published at once) and used.
    ArticleStatus.PUBLISHED: ["revise", "retire", "suggest", "use"],
    ArticleStatus.RETIRED: [],
}


def allowed_article_commands(state: Article) -> list[str]:
    """The commands an agent may send now (suggestions and usage are recorded by the desk)."""
    return [c for c in _ALLOWED[state.status] if c not in ("suggest", "use")]


def _check(content: ArticleContent) -> None:
    if not content.title.strip():
        raise InvalidCommand("title", "an article needs a title")
    if not content.symptom.strip():
        raise InvalidCommand("symptom", "an article describes the symptom it answers")


def decide_article(command: ArticleCommand, state: Article | None) -> list[ArticleEvent]:
    """The facts `command` records; a usage already recorded for a ticket records nothing."""
    if isinstance(command, DraftArticle):
        if state is not None:
            raise TransitionNotAllowed("draft", state.status.value, [])
        _check(command.content)
        return [
            ArticleDrafted(
                article_id=command.article_id,
                occurred_at=command.at,
                by=command.by,
                content=command.content,
                from_tickets=tuple(dict.fromkeys(command.from_tickets)),
                problem_id=command.problem_id,
            )
        ]
    if state is None:
        raise ArticleNotFound("no such article")
    name = _NAMES[type(command)]
    if name not in _ALLOWED[state.status]:
        raise TransitionNotAllowed(name, state.status.value, allowed_article_commands(state))
    common = {"article_id": state.id, "occurred_at": command.at, "by": command.by}
    return _decide_on(command, state, common)


def _decide_on(
    command: ArticleCommand, state: Article, common: dict[str, object]
) -> list[ArticleEvent]:
    if isinstance(command, ReviseArticle):
        _check(command.content)
        number = state.content_version + 1
        revised = ArticleRevised(
            content_version=number, content=command.content, note=command.note, **common
        )
        if state.status is ArticleStatus.PUBLISHED:
            return [revised, ArticlePublished(content_version=number, **common)]
        return [revised]
    if isinstance(command, PublishArticle):
        return [ArticlePublished(content_version=state.content_version, **common)]
    if isinstance(command, RetireArticle):
        return [ArticleRetired(reason=command.reason, **common)]
    if isinstance(command, RecordSuggestion):
        return [ArticleSuggested(ticket_id=command.ticket_id, context=command.context, **common)]
    assert isinstance(command, RecordResolution)
    if command.ticket_id in state.solved:
        return []
    return [ArticleUsedInResolution(ticket_id=command.ticket_id, **common)]


def evolve_article(state: Article | None, event: ArticleEvent) -> Article | None:
    if isinstance(event, ArticleDrafted):
        first = ContentVersion(1, event.content, event.by, event.occurred_at)
        return Article(
            id=event.article_id,
            status=ArticleStatus.DRAFT,
            versions=(first,),
            created_at=event.occurred_at,
            created_by=event.by,
            from_tickets=event.from_tickets,
            problem_id=event.problem_id,
            version=1,
        )
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, ArticleRevised):
        revision = ContentVersion(
            event.content_version, event.content, event.by, event.occurred_at, event.note
        )
        return replace(state, versions=(*state.versions, revision))
    if isinstance(event, ArticlePublished):
        return replace(
            state,
            status=ArticleStatus.PUBLISHED,
            published_version=event.content_version,
            published_at=event.occurred_at,
        )
    if isinstance(event, ArticleRetired):
        return replace(state, status=ArticleStatus.RETIRED, retired_at=event.occurred_at)
    if isinstance(event, ArticleSuggested):
        return replace(state, suggested=state.suggested + 1)
    if isinstance(event, ArticleUsedInResolution):
        return replace(state, solved=(*state.solved, event.ticket_id))
    return state


#: The article as the kernel runs it: stream `article-<id>`.
DECIDER: Decider[ArticleCommand, Article, ArticleEvent] = Decider(
    category="article", decide=decide_article, evolve=evolve_article, event_type=ArticleEvent
)
