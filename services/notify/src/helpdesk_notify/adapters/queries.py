"""Notify's read side: the queries behind the HTTP routes, which change nothing.

The entrypoints read through this module only (an import-linter contract checks it); the ledger's
writes stay in `ledger.py`, with the row's shape (`StoredNotification`) that both sides share.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_notify.adapters.ledger import COLUMNS, StoredNotification

__all__ = ["StoredNotification", "search"]


async def search(
    conn: AsyncConnection,
    *,
    notification: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None,
    recipient: str | None = None,
    status: str | None = None,
    requester_login: str | None = None,
    groups: Sequence[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[StoredNotification]:
    """Notifications matching every filter given, newest first.

    `requester_login` keeps only the mails sent to that requester about its own tickets;
    `groups` only the notifications of tickets now in one of those groups.
    """
    clauses, params = _filters(
        {"id": notification, "ticket_id": ticket_id, "recipient": recipient, "status": status}
    )
    if requester_login is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM notify.tickets t WHERE t.ticket_id = n.ticket_id "
            "AND t.requester_login = :login AND (lower(n.recipient) = lower(t.requester_email) "
            "OR n.recipient = t.requester_login))"
        )
        params["login"] = requester_login
    if groups is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM notify.tickets t WHERE t.ticket_id = n.ticket_id "
            'AND t."group" = ANY(:groups))'
        )
        params["groups"] = list(groups)
    columns = ", ".join(f"n.{c.strip()}" for c in COLUMNS.split(","))
    query = (
        f"SELECT {columns} FROM notify.notifications n WHERE {' AND '.join(clauses)} "  # noqa: S608 - fixed clauses, values bound
        "ORDER BY n.created_at DESC, n.id LIMIT :limit OFFSET :offset"
    )
    rows = await conn.execute(text(query), {**params, "limit": limit, "offset": offset})
    return [StoredNotification(**row) for row in rows.mappings()]


def _filters(equal_to: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Equality clauses for the filters given (the recipient compared without case)."""
    clauses, params = ["true"], {}
    for column, value in equal_to.items():
        if value is None:
            continue
        if column == "recipient":
            clauses.append("lower(n.recipient) = lower(:recipient)")
        else:
            clauses.append(f"n.{column} = :{column}")
        params[column] = value
    return clauses, params
