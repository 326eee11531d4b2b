"""PostgreSQL tables of the requester directory (schema `intake`).

Each entry is kept whole as JSON beside the columns it is looked up by; every write takes the
caller's connection so that it commits with the ticket it belongs to. The lookups a write needs
are here; the routes' reads (the list, an entry's change log) are in `queries.py`.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.adapters import contracts
from helpdesk_intake.application.ports import EntryRead
from helpdesk_intake.domain.requesters import Requester

#: The columns an entry is rebuilt from (`requester_of`): the read side selects them too.
REQUESTER_COLUMNS = "data::text AS data, id, login, needs_verification, version"
_VERSION_SELECT = f"SELECT {contracts.VERSION_COLUMNS}"


def _select_requester(where: str) -> dict[bool, TextClause]:
    """The lookup by `where`, keyed by `for_update` (built once: `text()` parses its SQL)."""
    sql = f"SELECT {REQUESTER_COLUMNS} FROM intake.requesters WHERE {where}"  # noqa: S608
    return {False: text(sql), True: text(f"{sql} FOR UPDATE")}


_BY_ID = _select_requester("id = :id")


def requester_of(row: Any) -> Requester:
    """The entry of a row selected with `REQUESTER_COLUMNS`."""
    return _requester_from(row.data, row.id, row.login, row.needs_verification, row.version)


# Rows read back are validated once per distinct content: the models are immutable (frozen,
# tuples) and the cache is keyed by everything they are built from, so a cached entry is exactly
# what validating the row again would give. Validating an entry (its e-mail address above all)
# was a tenth of an opening's own CPU.
@lru_cache(maxsize=2048)
def _requester_from(
    data: str, id_: uuid.UUID, login: str, needs_verification: bool, version: int
) -> Requester:
    fields = json.loads(data)
    fields |= {"id": id_, "login": login, "needs_verification": needs_verification}
    return Requester.model_validate(fields | {"version": version})


def _profile_json(requester: Requester) -> str:
    return requester.model_dump_json(exclude={"id", "login", "needs_verification", "version"})


async def requester_by_id(
    conn: AsyncConnection, requester_id: uuid.UUID, *, for_update: bool = False
) -> Requester | None:
    sql = _BY_ID[for_update]
    row = (await conn.execute(sql, {"id": requester_id})).first()
    return requester_of(row) if row else None


_HELD = contracts.HELD_BY.replace(_VERSION_SELECT, f"SELECT {contracts.AS_JSON}").format(
    organisation="r.data->>'organisation'", login="r.login"
)
_BY_LOGIN_WITH_CONTRACTS = text(
    f"""SELECT {REQUESTER_COLUMNS}, ARRAY({_HELD}) AS contracts
    FROM intake.requesters r WHERE login = :login"""  # noqa: S608
)


async def requester_and_contracts_by_login(conn: AsyncConnection, login: str) -> EntryRead | None:
    """The entry and what `contracts.held_by(login, organisation)` would answer, in one round
    trip: the opening of a known requester needs both."""
    row = (await conn.execute(_BY_LOGIN_WITH_CONTRACTS, {"login": login})).first()
    if row is None:
        return None
    return EntryRead(requester_of(row), contracts.states_from_json(row.contracts))


async def requester_by_email(conn: AsyncConnection, email: str) -> Requester | None:
    sql = (
        f"SELECT {REQUESTER_COLUMNS} FROM intake.requesters"  # noqa: S608
        " WHERE lower(email) = lower(:email) ORDER BY created_at LIMIT 1"
    )
    row = (await conn.execute(text(sql), {"email": email})).first()
    return requester_of(row) if row else None


async def insert_requester(conn: AsyncConnection, requester: Requester) -> bool:
    """Insert a new entry; False when the login is already taken."""
    row = (
        await conn.execute(
            text(
                """INSERT INTO intake.requesters
                (id, login, email, needs_verification, version, data)
                VALUES (:id, :login, :email, :nv, 1, CAST(:data AS jsonb))
                ON CONFLICT (login) DO NOTHING RETURNING id"""
            ),
            {
                "id": requester.id,
                "login": requester.login,
                "email": str(requester.email) if requester.email else None,
                "nv": requester.needs_verification,
                "data": _profile_json(requester),
            },
        )
    ).first()
    return row is not None


async def update_requester(
    conn: AsyncConnection,
    requester: Requester,
    *,
    changes: dict[str, Any],
    changed_by: str,
    channel: str | None,
) -> Requester:
    """Write the corrected entry (version + 1) and its change log row."""
    row = (
        await conn.execute(
            text(
                f"""UPDATE intake.requesters SET email = :email, needs_verification = :nv,
                data = CAST(:data AS jsonb), version = version + 1, updated_at = now()
                WHERE id = :id RETURNING {REQUESTER_COLUMNS}"""  # noqa: S608
            ),
            {
                "id": requester.id,
                "email": str(requester.email) if requester.email else None,
                "nv": requester.needs_verification,
                "data": _profile_json(requester),
            },
        )
    ).one()
    await conn.execute(
        text(
            """INSERT INTO intake.requester_changes (requester_id, changed_by, channel, changes)
            VALUES (:id, :by, :channel, CAST(:changes AS jsonb))"""
        ),
        {"id": requester.id, "by": changed_by, "channel": channel, "changes": json.dumps(changes)},
    )
    return requester_of(row)


async def delete_requester(conn: AsyncConnection, requester_id: uuid.UUID) -> bool:
    sql = text("DELETE FROM intake.requesters WHERE id = :id RETURNING id")
    return (await conn.execute(sql, {"id": requester_id})).first() is not None
