"""Notify's ticket views in `notify.tickets`: columns to query, the whole view as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_notify.domain.tickets import HistoryEntry, TicketStatus, TicketView

_LOAD_ALL = text(
    "SELECT view FROM notify.tickets WHERE ticket_id = ANY(:ids) ORDER BY ticket_id FOR UPDATE"
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

_SAVE = text(
    """
    INSERT INTO notify.tickets (ticket_id, reference, requester_login, requester_email,
        language, subject, "group", level, status, opened_at, last_activity_at, due_at,
        view, updated_at)
    VALUES (:ticket_id, :reference, :login, :email, :language, :subject, :group, :level,
        :status, :opened_at, :last_activity_at, :due_at, CAST(:view AS jsonb), now())
    ON CONFLICT (ticket_id) DO UPDATE SET
        reference = EXCLUDED.reference, requester_login = EXCLUDED.requester_login,
        requester_email = EXCLUDED.requester_email, language = EXCLUDED.language,
        subject = EXCLUDED.subject, "group" = EXCLUDED."group", level = EXCLUDED.level,
        status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
        last_activity_at = EXCLUDED.last_activity_at, due_at = EXCLUDED.due_at,
        view = EXCLUDED.view, updated_at = now()
    """
)


async def load_all_for_update(
    conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TicketView]:
    """The views found of these tickets, in one statement, each locked until the transaction
    ends (events of one ticket in turn); locked in ticket order, so two transactions on
    overlapping tickets take them in the same order."""
    if not ticket_ids:
        return {}
    rows = await conn.execute(_LOAD_ALL, {"ids": list(ticket_ids)})
    views = (view_from_json(raw) for raw in rows.scalars())
    return {view.ticket_id: view for view in views}


async def save_all(conn: AsyncConnection, views: Sequence[TicketView]) -> None:
    """Write the views, all in one call."""
    if views:
        await conn.execute(_SAVE, [_columns(view) for view in views])


def _columns(view: TicketView) -> dict[str, Any]:
    return {
        "ticket_id": view.ticket_id,
        "reference": view.reference,
        "login": view.requester_login,
        "email": view.requester_email,
        "language": view.language,
        "subject": view.subject,
        "group": view.group,
        "level": view.level,
        "status": view.status.value,
        "opened_at": view.opened_at,
        "last_activity_at": view.last_activity_at,
        "due_at": view.due_at,
        "view": json.dumps(view_to_json(view)),
    }


async def open_views(conn: AsyncConnection) -> list[TicketView]:
    """Every ticket not closed, for the daily digest."""
    rows = await conn.execute(
        text(
            "SELECT view FROM notify.tickets WHERE status <> 'closed' ORDER BY \"group\", opened_at"
        )
    )
    return [view_from_json(raw) for raw in rows.scalars()]


def view_to_json(view: TicketView) -> dict[str, Any]:
    return {
        "ticket_id": str(view.ticket_id),
        "reference": view.reference,
        "subject": view.subject,
        "description": view.description,
        "ticket_type": view.ticket_type,
        "requester_login": view.requester_login,
        "requester_name": view.requester_name,
        "requester_email": view.requester_email,
        "language": view.language,
        "group": view.group,
        "level": view.level,
        "status": view.status.value,
        "opened_at": view.opened_at.isoformat(),
        "last_activity_at": view.last_activity_at.isoformat(),
        "out_of_scope": view.out_of_scope,
        "due_at": view.due_at.isoformat() if view.due_at else None,
        "history": [
            {
                "event_id": str(e.event_id),
                "occurred_at": e.occurred_at.isoformat(),
                "kind": e.kind,
                "detail": e.detail,
            }
            for e in view.history
        ],
    }


def view_from_json(raw: dict[str, Any]) -> TicketView:
    due = raw.get("due_at")
    return TicketView(
        ticket_id=uuid.UUID(raw["ticket_id"]),
        reference=raw["reference"],
        subject=raw["subject"],
        description=raw["description"],
        ticket_type=raw["ticket_type"],
        requester_login=raw["requester_login"],
        requester_name=raw["requester_name"],
        requester_email=raw["requester_email"],
        language=raw["language"],
        group=raw["group"],
        level=int(raw["level"]),
        status=TicketStatus(raw["status"]),
        opened_at=datetime.fromisoformat(raw["opened_at"]),
        last_activity_at=datetime.fromisoformat(raw["last_activity_at"]),
        out_of_scope=bool(raw["out_of_scope"]),
        due_at=datetime.fromisoformat(due) if due else None,
        history=tuple(
            HistoryEntry(
                uuid.UUID(e["event_id"]),
                datetime.fromisoformat(e["occurred_at"]),
                e["kind"],
                e["detail"],
            )
            for e in raw["history"]
        ),
    )
