"""The bodies of `/v1/articles`' requests: an article's content, the drafts and the commands
(apart from the routes, as the tickets' `bodies.py`). `CreateBody` stays with its route: the
OpenAPI document names it by its module, beside the problems' own `CreateBody`."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from helpdesk_shared.events.article import ArticleContent, Audience
from helpdesk_ticket.domain import article as a
from helpdesk_ticket.entrypoints.command_routes import CommandBody

Short = Field(min_length=1, max_length=500)
Long = Field(min_length=1, max_length=20_000)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_CONTENT_FIELDS = set(ArticleContent.model_fields)


class ContentBody(_Body):
    title: str = Short
    symptom: str = Long
    cause: str | None = Field(default=None, max_length=20_000)
    resolution_steps: list[str] = Field(default_factory=list, max_length=100)
    category: str | None = Field(default=None, max_length=80)
    software: list[str] = Field(default_factory=list, max_length=50)
    hardware: list[str] = Field(default_factory=list, max_length=50)
    audience: Audience = Audience.AGENTS

    def content(self) -> ArticleContent:
        return ArticleContent.model_validate(self.model_dump(include=_CONTENT_FIELDS))


class ReviseBody(ContentBody, CommandBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Bourrage papier sur HP LaserJet",
                    "symptom": "L'imprimante affiche « bourrage papier »",
                    "resolution_steps": ["Ouvrir le capot", "Retirer la feuille"],
                    "audience": "public",
                    "note": "Étapes simplifiées",
                }
            ]
        }
    )

    note: str | None = Field(default=None, max_length=2_000)

    def to_command(self, by: str, at: datetime) -> a.ArticleCommand:
        return a.ReviseArticle(by=by, at=at, content=self.content(), note=self.note)


class PublishBody(CommandBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    def to_command(self, by: str, at: datetime) -> a.ArticleCommand:
        return a.PublishArticle(by=by, at=at)


class RetireBody(CommandBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Modèle d'imprimante retiré du parc"}]}
    )

    reason: str | None = Field(default=None, max_length=2_000)

    def to_command(self, by: str, at: datetime) -> a.ArticleCommand:
        return a.RetireArticle(by=by, at=at, reason=self.reason)


class DraftFromTicketBody(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"audience": "agents"}]})

    audience: Audience = Audience.AGENTS


class SuggestBody(_Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"text": "imprimante bourrage papier", "category": "printers", "limit": 3}]
        }
    )

    text: str = Long
    category: str | None = Field(default=None, max_length=80)
    ticket_id: uuid.UUID | None = None
    context: str = Field(default="ticket", max_length=40)
    limit: int = Field(default=3, ge=1, le=10)
