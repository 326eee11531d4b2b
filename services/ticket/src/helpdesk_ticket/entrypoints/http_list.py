"""`GET /v1/tickets` (the list projection) and `GET /v1/tickets/follow-up` (daily follow-up)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from helpdesk_shared.auth import CurrentPrincipal
from helpdesk_shared.http.dependencies import Engine
from helpdesk_shared.http.problems import field_error, invalid_input
from helpdesk_ticket.adapters.queries.tickets import (
    InvalidCursor,
    TicketFilter,
    follow_up,
    list_tickets,
)
from helpdesk_ticket.application.authorization import reader_bound
from helpdesk_ticket.application.tickets import TicketService

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


class TicketSummary(BaseModel):
    id: uuid.UUID
    reference: str
    type: str
    status: str
    category: str | None
    priority: str | None
    group: str
    level: int
    assignee: str | None
    requester: str
    requester_name: str
    subject: str
    channel: str
    admissibility: str
    opened_at: datetime
    taken_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    last_activity_at: datetime
    take_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_paused: bool
    sla_breached: bool
    first_contact: bool | None
    satisfaction: int | None
    version: int


class TicketPage(BaseModel):
    items: list[TicketSummary]
    #: Pass as `cursor` for the next page; None on the last page.
    next_cursor: str | None


class FollowUpItem(TicketSummary):
    next_due_at: datetime | None
    idle: bool
    overdue: bool
    due_soon: bool


@router.get("", summary="Tickets, filtered and searched (French full text), newest first")
async def get_tickets(
    principal: CurrentPrincipal,
    engine: Engine,
    status: Annotated[list[str] | None, Query()] = None,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    group: str | None = None,
    assignee: str | None = None,
    requester: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    opened_from: AwareDatetime | None = None,
    opened_to: AwareDatetime | None = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> TicketPage:
    reader, reader_groups = reader_bound(principal)
    criteria = TicketFilter(
        statuses=tuple(status or ()),
        level=level,
        group=group,
        assignee=assignee,
        requester=requester,
        priority=priority,
        category=category,
        opened_from=opened_from,
        opened_to=opened_to,
        q=q,
        reader=reader,
        reader_groups=reader_groups,
    )
    try:
        page = await list_tickets(engine, criteria, limit, cursor)
    except InvalidCursor:
        raise invalid_input(
            [field_error("query", ["cursor"], "invalid")], "Unknown cursor."
        ) from None
    items = [TicketSummary.model_validate(i) for i in page.items]
    return TicketPage(items=items, next_cursor=page.next_cursor)


@router.get("/follow-up", summary="Daily follow-up: open tickets idle for a day or due soon")
async def get_follow_up(
    request: Request,
    principal: CurrentPrincipal,
    engine: Engine,
    idle_hours: Annotated[float, Query(gt=0, le=24 * 30)] = 24,
    due_within_hours: Annotated[float, Query(ge=0, le=24 * 30)] = 4,
) -> list[FollowUpItem]:
    tickets: TicketService = request.app.state.ticket_service
    reader, reader_groups = reader_bound(principal)
    rows = await follow_up(
        engine,
        tickets.clock(),
        timedelta(hours=idle_hours),
        timedelta(hours=due_within_hours),
        reader=reader,
        reader_groups=reader_groups,
    )
    return [FollowUpItem.model_validate(r) for r in rows]
