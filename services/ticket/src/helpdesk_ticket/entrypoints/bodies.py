"""Request bodies of the ticket commands, and how each becomes a domain command."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, ConfigDict, Field

from helpdesk_shared.events.ticket import (
    AppointmentKind,
    BreakdownCause,
    ClosureCode,
    HoldReason,
    Impact,
    TicketType,
    Urgency,
    Visibility,
)
from helpdesk_ticket.domain.ticket import commands as c
from helpdesk_ticket.entrypoints.command_routes import CommandBody

Text = Field(min_length=1, max_length=10_000)
Name = Field(min_length=1, max_length=100)


class Body(CommandBody):
    def to_command(self, by: str, at: datetime) -> c.Command:
        raise NotImplementedError


class QualifyBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"type": "incident", "category": "printers", "impact": "medium", "urgency": "high"}
            ]
        }
    )

    type: TicketType
    category: str = Name
    impact: Impact
    urgency: Urgency

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Qualify(by=by, at=at, **self.model_dump())


class AssignBody(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"group": "desk", "agent": "agent.martin"}]}
    )

    group: str = Name
    agent: str | None = Field(default=None, min_length=1, max_length=100)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Assign(by=by, at=at, **self.model_dump())


class TakeBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Take(by=by, at=at)


class EscalateBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"reason": "Panne matérielle : intervention sur site nécessaire", "to_level": 2}
            ]
        }
    )

    reason: str = Text
    to_level: int | None = Field(default=None, ge=1, le=3)
    to_management: bool = False
    group: str | None = Field(default=None, min_length=1, max_length=100)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Escalate(by=by, at=at, **self.model_dump())


class RouteBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "to_group": "network",
                    "reason": "Le commutateur de l'étage ne répond plus",
                    "domain": "network",
                }
            ]
        }
    )

    to_group: str = Name
    reason: str = Text
    domain: str | None = None

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Route(by=by, at=at, **self.model_dump())


class CommentBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Pouvez-vous redémarrer le poste et nous dire si le message persiste ?",
                    "visibility": "public",
                }
            ]
        }
    )

    text: str = Text
    visibility: Visibility = Visibility.PUBLIC

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Comment(by=by, at=at, **self.model_dump())


class HoldBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "waiting_requester", "detail": "En attente du numéro de série"}]
        }
    )

    reason: HoldReason
    detail: str | None = Field(default=None, max_length=10_000)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Hold(by=by, at=at, **self.model_dump())


class ResumeBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Resume(by=by, at=at)


class ConsentBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"granted": True, "channel": "phone", "scope": "prise en main à distance"}]
        }
    )

    granted: bool
    channel: str = Name
    scope: str | None = Field(default=None, max_length=1_000)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.RecordConsent(by=by, at=at, **self.model_dump())


class ScheduleBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "on_site",
                    "starts_at": "2026-03-03T10:00:00+01:00",
                    "ends_at": "2026-03-03T11:00:00+01:00",
                    "location": "Bureau B214",
                }
            ]
        }
    )

    kind: AppointmentKind
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    location: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=10_000)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Schedule(by=by, at=at, **self.model_dump())


class ResolveBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "solution": "Bourrage retiré, rouleau d'entraînement nettoyé",
                    "resolution_code": "fixed",
                }
            ]
        }
    )

    solution: str = Text
    resolution_code: str = Name
    #: The published knowledge article that solved it (counted on the article).
    article_id: uuid.UUID | None = None
    #: With `resolution_code` `reinstall` (and only then): what caused the breakdown.
    cause: BreakdownCause | None = None

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Resolve(by=by, at=at, **self.model_dump(exclude={"article_id"}))


class CloseBody(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "resolved"}]})

    code: ClosureCode = ClosureCode.RESOLVED
    reason: str | None = Field(default=None, max_length=10_000)
    follow_up: str | None = Field(default=None, max_length=10_000)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Close(by=by, at=at, **self.model_dump())


class ReopenBody(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Le bourrage est revenu"}]}
    )

    reason: str = Text

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Reopen(by=by, at=at, **self.model_dump())


class RateBody(Body):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"score": 5, "comment": "Rapide et efficace"}]}
    )

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=10_000)

    def to_command(self, by: str, at: datetime) -> c.Command:
        return c.Rate(by=by, at=at, **self.model_dump())


#: `POST /v1/tickets/{id}/<name>` -> its body. Bodies without required fields may be omitted.
COMMAND_BODIES: dict[str, type[Body]] = {
    "qualify": QualifyBody,
    "assign": AssignBody,
    "take": TakeBody,
    "escalate": EscalateBody,
    "route": RouteBody,
    "comment": CommentBody,
    "hold": HoldBody,
    "resume": ResumeBody,
    "record-consent": ConsentBody,
    "schedule": ScheduleBody,
    "resolve": ResolveBody,
    "close": CloseBody,
    "reopen": ReopenBody,
    "rate": RateBody,
}
