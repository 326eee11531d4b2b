"""Notify's ticket views in `notify.tickets`: columns to query, the whole view as JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from helpdesk_notify.domain.tickets import HistoryEntry, TicketStatus, TicketView

#: The driver's statements (asyncpg's prepared statements: no SQLAlchemy compilation or row
#: processing per call). The view is read as text: a connection of SQLAlchemy's pool decodes
#: `jsonb` itself, one of the engine's own does not.
_LOAD_ALL = (
    "SELECT view::text FROM notify.tickets WHERE ticket_id = ANY($1::uuid[]) "
    "ORDER BY ticket_id FOR UPDATE"
)

_OPEN = (
    "SELECT view::text FROM notify.tickets WHERE status <> 'closed' ORDER BY \"group\", opened_at"
)

#: Every view of a batch in one statement: one array per column, the rows in ticket order (two
#: batches creating the same tickets wait for each other in the same order).
_SAVE_ALL = """
    INSERT INTO notify.tickets (ticket_id, reference, requester_login, requester_email,
        language, subject, "group", level, status, opened_at, last_activity_at, due_at,
        view, updated_at)
    SELECT v.ticket_id, v.reference, v.login, v.email, v.language, v.subject, v.grp, v.level,
        v.status, v.opened_at, v.last_activity_at, v.due_at, CAST(v.view AS jsonb), now()
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::int[], $9::text[], $10::timestamptz[], $11::timestamptz[],
        $12::timestamptz[], $13::text[])
        AS v(ticket_id, reference, login, email, language, subject, grp, level, status,
            opened_at, last_activity_at, due_at, view)
    ORDER BY v.ticket_id
    ON CONFLICT (ticket_id) DO UPDATE SET
        reference = EXCLUDED.reference, requester_login = EXCLUDED.requester_login,
        requester_email = EXCLUDED.requester_email, language = EXCLUDED.language,
        subject = EXCLUDED.subject, "group" = EXCLUDED."group", level = EXCLUDED.level,
        status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
        last_activity_at = EXCLUDED.last_activity_at, due_at = EXCLUDED.due_at,
        view = EXCLUDED.view, updated_at = now()
    """


async def load_all_for_update(
    driver: Any, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, TicketView]:
    """The views found of these tickets, in one statement, each locked until the transaction
    ends (events of one ticket in turn); locked in ticket order, so two transactions on
    overlapping tickets take them in the same order. `driver`: an asyncpg connection."""
    if not ticket_ids:
        return {}
    rows = await driver.fetch(_LOAD_ALL, list(ticket_ids))
    views = (view_from_json(json.loads(row[0])) for row in rows)
    return {view.ticket_id: view for view in views}


async def save_all(driver: Any, views: Sequence[TicketView]) -> None:
    """Write the views, all in one statement (one ticket once: the batch keeps its last view)."""
    if views:
        rows = [_columns(view) for view in sorted(views, key=lambda view: view.ticket_id)]
        await driver.execute(_SAVE_ALL, *(list(column) for column in zip(*rows, strict=True)))


def _columns(view: TicketView) -> tuple[Any, ...]:
    """The view's row, in `_SAVE_ALL`'s order of arrays."""
    return (
        view.ticket_id,
        view.reference,
        view.requester_login,
        view.requester_email,
        view.language,
        view.subject,
        view.group,
        view.level,
        view.status.value,
        view.opened_at,
        view.last_activity_at,
        view.due_at,
        json.dumps(view_to_json(view)),
    )


async def open_views(driver: Any) -> list[TicketView]:
    """Every ticket not closed, for the daily digest."""
    return [view_from_json(json.loads(row[0])) for row in await driver.fetch(_OPEN)]


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
