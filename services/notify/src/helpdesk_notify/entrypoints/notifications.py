"""`GET /v1/notifications`: what was sent to whom, and what failed, for front ends and staff."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters import ledger
from helpdesk_shared.auth import CurrentPrincipal, Role
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
    def of(cls, row: ledger.StoredNotification) -> NotificationOut:
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


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    count: int
    limit: int
    offset: int


@router.get("", summary="Notifications, filtered by ticket, recipient and status")
async def list_notifications(
    request: Request,
    principal: CurrentPrincipal,
    ticket_id: uuid.UUID | None = None,
    recipient: Annotated[str | None, Query(max_length=320)] = None,
    status: NotificationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NotificationPage:
    """Managers see every notification; agents those of their groups' tickets; a requester
    only the mails sent to it about its own tickets."""
    requester_login: str | None = None
    groups: list[str] | None = None
    if principal.sees_everything:
        pass
    elif principal.has(Role.AGENT):
        groups = sorted(principal.groups)
    elif principal.has(Role.REQUESTER):
        requester_login = principal.sub
    else:
        raise Problem(403, "Accès refusé", "This needs a requester, agent or manager role.")
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        rows = await ledger.search(
            conn,
            ticket_id=ticket_id,
            recipient=recipient,
            status=status.value if status else None,
            requester_login=requester_login,
            groups=groups,
            limit=limit,
            offset=offset,
        )
    items = [NotificationOut.of(row) for row in rows]
    return NotificationPage(items=items, count=len(items), limit=limit, offset=offset)
