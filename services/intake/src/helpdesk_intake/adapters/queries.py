"""Intake's read side: the queries behind the GET routes and the pre-qualification check, which
change nothing.

The entrypoints read through this module only (an import-linter contract checks it); the writes
stay with their tables (`directory.py`, `contracts.py`, `tickets.py`), behind the unit of work.
A reader the write side uses too (an entry by id or by e-mail address, the contracts a requester
holds) keeps its one definition there and is named here; the row shapes (`REQUESTER_COLUMNS`,
`VERSION_COLUMNS`) and their mappers are shared the same way.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.adapters.contracts import VERSION_COLUMNS, held_by, states_from_rows
from helpdesk_intake.adapters.directory import (
    REQUESTER_COLUMNS,
    requester_by_email,
    requester_by_id,
    requester_of,
)
from helpdesk_intake.domain.contract import ContractState
from helpdesk_intake.domain.requesters import Requester

__all__ = [
    "held_by",
    "list_requesters",
    "of_client",
    "quarantined",
    "requester_by_email",
    "requester_by_id",
    "requester_by_login",
    "requester_changes",
]

_BY_LOGIN = text(f"SELECT {REQUESTER_COLUMNS} FROM intake.requesters WHERE login = :login")  # noqa: S608
_LIST = text(
    f"SELECT {REQUESTER_COLUMNS} FROM intake.requesters"  # noqa: S608
    " WHERE CAST(:org AS text) IS NULL OR lower(data->>'organisation') = lower(:org)"
    " ORDER BY login LIMIT :limit OFFSET :offset"
)
_CHANGES = text(
    """SELECT changed_by, changed_at, channel, changes::text AS changes
    FROM intake.requester_changes WHERE requester_id = :id ORDER BY id"""
)
_OF_CLIENT = text(
    f"""SELECT {VERSION_COLUMNS} FROM intake.contract_versions v
    WHERE CAST(:client AS text) IS NULL OR v.client_key = lower(trim(:client))
       OR v.client_key = :client
    ORDER BY min(v.recorded_at) OVER (PARTITION BY v.contract_id), v.contract_id, v.version"""  # noqa: S608
)
_QUARANTINED = text(
    """SELECT mail_id, message_id, reason, length(raw) AS size_bytes, received_at
    FROM intake.quarantine ORDER BY received_at DESC LIMIT :limit"""
)


async def requester_by_login(conn: AsyncConnection, login: str) -> Requester | None:
    row = (await conn.execute(_BY_LOGIN, {"login": login})).first()
    return requester_of(row) if row else None


async def list_requesters(
    conn: AsyncConnection, *, organisation: str | None, limit: int, offset: int
) -> list[Requester]:
    """The directory by login; `organisation` (any case) keeps that organisation's entries."""
    params = {"org": organisation, "limit": limit, "offset": offset}
    return [requester_of(r) for r in (await conn.execute(_LIST, params)).all()]


async def requester_changes(conn: AsyncConnection, requester_id: uuid.UUID) -> list[dict[str, Any]]:
    """The change log of an entry, oldest first."""
    rows = (await conn.execute(_CHANGES, {"id": requester_id})).all()
    return [
        {
            "changed_by": r.changed_by,
            "changed_at": r.changed_at,
            "channel": r.channel,
            "changes": json.loads(r.changes),
        }
        for r in rows
    ]


async def of_client(conn: AsyncConnection, client: str | None) -> list[ContractState]:
    """The contracts of an organisation (by name) or a person (by login); all when None."""
    rows = (await conn.execute(_OF_CLIENT, {"client": client})).all()
    return states_from_rows(rows)


async def quarantined(conn: AsyncConnection, limit: int = 100) -> list[dict[str, Any]]:
    """The messages kept in quarantine, newest first (their size, not their bytes)."""
    rows = (await conn.execute(_QUARANTINED, {"limit": limit})).all()
    return [dict(r._mapping) for r in rows]
