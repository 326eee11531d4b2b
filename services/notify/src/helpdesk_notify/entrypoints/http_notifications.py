"""`GET /v1/notifications`: what was sent to whom, and what failed, for front ends and staff."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from helpdesk_notify.adapters import queries
from helpdesk_shared.auth import CurrentPrincipal, Principal, Role
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.problems import Problem

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationOut(BaseModel):
    """One notification as recorded: the mail's headers and its delivery state."""

    id: uuid.UUID
    ticket_id: uuid.UUID | None
    event_id: uuid.UUID
    recipient: str
    template: str
    language: str
    status: NotificationStatus
    attempts: int
    message_id: str | None
    in_reply_to: str | None
    subject: str | None
    smtp_response: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: queries.StoredNotification) -> NotificationOut:
        return cls(
            id=row.id,
            ticket_id=row.ticket_id,
            event_id=row.event_id,
            recipient=row.recipient,
            template=row.template,
            language=row.language,
            status=NotificationStatus(row.status),
            attempts=row.attempts,
            message_id=row.message_id,
            in_reply_to=row.in_reply_to,
            subject=row.subject,
            smtp_response=row.smtp_response,
            error=row.error,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sent_at=row.sent_at,
        )


class NotificationDetail(NotificationOut):
    """A notification with the mail's bodies, as sent."""

    body_text: str | None
    body_html: str | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    count: int
    limit: int
    offset: int


@dataclass(frozen=True)
class _Scope:
    """What the caller may see: everything, its groups' tickets, or its own mails."""

    requester_login: str | None = None
    groups: list[str] | None = None


def _scope(principal: Principal) -> _Scope:
    """As in the ticket service: the desk's agents follow every ticket up, other agents their
    groups' tickets, a requester its own."""
    if principal.reads_every_ticket:
        return _Scope()
    if principal.has(Role.AGENT):
        return _Scope(groups=sorted(principal.groups))
    if principal.has(Role.REQUESTER):
        return _Scope(requester_login=principal.sub)
    raise Problem(403, "Accès refusé", "This needs a requester, agent or manager role.")


@router.get("", summary="Notifications, filtered by ticket, recipient and status")
async def list_notifications(
    principal: CurrentPrincipal,
    engine: Engine,
    ticket_id: uuid.UUID | None = None,
    recipient: Annotated[str | None, Query(max_length=320)] = None,
    status: NotificationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationPage:
    """Managers and the desk's agents see every notification; other agents those of their
    groups' tickets; a requester only the mails sent to it about its own tickets. Newest
    first."""
    scope = _scope(principal)
    async with engine.connect() as conn:
        rows = await queries.search(
            conn,
            ticket_id=ticket_id,
            recipient=recipient,
            status=status.value if status else None,
            requester_login=scope.requester_login,
            groups=scope.groups,
            limit=limit,
            offset=offset,
        )
    items = [NotificationOut.of(row) for row in rows]
    return NotificationPage(items=items, count=len(items), limit=limit, offset=offset)


@router.get("/{notification_id}", summary="One notification with the mail as sent")
async def get_notification(
    principal: CurrentPrincipal, engine: Engine, notification_id: uuid.UUID
) -> NotificationDetail:
    """404 as well when the caller may not see it (its existence is not disclosed)."""
    scope = _scope(principal)
    async with engine.connect() as conn:
        rows = await queries.search(
            conn,
            notification=notification_id,
            requester_login=scope.requester_login,
            groups=scope.groups,
            limit=1,
        )
    if not rows:
        raise Problem(404, "Notification introuvable", f"No notification {notification_id}.")
    row = rows[0]
    return NotificationDetail(
        **NotificationOut.of(row).model_dump(), body_text=row.body_text, body_html=row.body_html
    )
