"""Contracts in PostgreSQL: their streams in the event store, and the read model of their versions.

The `contract-<id>` stream is the source of truth. `intake.contract_versions` keeps one row per
version (the terms then, who holds it, from when), written in the transaction that appends the
events making it, so pre-qualification finds every contract a requester holds in one query
instead of replaying streams; `rebuild_versions` writes it again from a stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_intake.application.contracts import ContractService
from helpdesk_intake.domain.contract import ContractState, ContractVersion, replay
from helpdesk_intake.domain.contracts import ClientKind, ContractTerms
from helpdesk_shared.events.contract import ContractEvent
from helpdesk_shared.eventstore.model import RecordedEvent, stream_id
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.http.idempotency import PostgresIdempotencyKeys

CATEGORY = "contract"

VERSION_COLUMNS = (
    "contract_id, version, effective_from, cause, reason, recorded_at, recorded_by,"
    " terms::text AS terms"
)
#: Every version of the contracts a requester holds: its organisation's, and its own by login.
HELD_BY = f"""SELECT {VERSION_COLUMNS} FROM intake.contract_versions v
    WHERE (v.client_kind = 'organisation' AND v.client_key = lower(trim({{organisation}})))
       OR (v.client_kind = 'person' AND v.client_key = {{login}})
    ORDER BY min(v.recorded_at) OVER (PARTITION BY v.contract_id), v.contract_id, v.version"""  # noqa: S608
_HELD_BY = text(HELD_BY.format(organisation=":organisation", login=":login"))
_RECORD = text(
    """INSERT INTO intake.contract_versions (contract_id, version, client_kind, client_key,
        effective_from, cause, reason, recorded_at, recorded_by, terms)
    VALUES (:contract_id, :version, :client_kind, :client_key, :effective_from, :cause, :reason,
        :recorded_at, :recorded_by, CAST(:terms AS jsonb))
    ON CONFLICT (contract_id, version) DO NOTHING"""
)


def contract_stream(contract_id: uuid.UUID) -> str:
    return stream_id(CATEGORY, contract_id)


async def load(
    store: EventStore, contract_id: uuid.UUID, conn: AsyncConnection | None = None
) -> tuple[ContractState | None, int]:
    """The contract rebuilt from its stream, and the stream's version (0: not signed)."""
    recorded = await store.read_stream(contract_stream(contract_id), conn=conn)
    return state_of(recorded), (recorded[-1].version if recorded else 0)


def state_of(recorded: Sequence[RecordedEvent]) -> ContractState | None:
    events = [e.to_domain() for e in recorded]
    return replay([e for e in events if isinstance(e, ContractEvent)])


async def record_versions(
    conn: AsyncConnection, state: ContractState, versions: Iterable[ContractVersion]
) -> None:
    """Write the read model rows of new versions (in the transaction that appended them)."""
    client = state.versions[0].terms.client
    key = client.login if client.kind is ClientKind.PERSON else client.name.strip().lower()
    for version in versions:
        await conn.execute(
            _RECORD,
            {
                "contract_id": state.contract_id,
                "version": version.number,
                "client_kind": client.kind.value,
                "client_key": key,
                "effective_from": version.effective_from,
                "cause": version.cause,
                "reason": version.reason,
                "recorded_at": version.recorded_at,
                "recorded_by": version.by,
                "terms": version.terms.model_dump_json(),
            },
        )


async def rebuild_versions(conn: AsyncConnection, store: EventStore, contract_id: uuid.UUID) -> int:
    """Write the read model of one contract again from its stream; the versions written."""
    state, _ = await load(store, contract_id, conn)
    await conn.execute(
        text("DELETE FROM intake.contract_versions WHERE contract_id = :id"), {"id": contract_id}
    )
    if state is None:
        return 0
    await record_versions(conn, state, state.versions)
    return len(state.versions)


async def held_by(
    conn: AsyncConnection, login: str, organisation: str | None
) -> list[ContractState]:
    """Every contract the requester holds, oldest first, with all their versions."""
    rows = (await conn.execute(_HELD_BY, {"login": login, "organisation": organisation})).all()
    return states_from_rows(rows)


def states_from_rows(rows: Iterable[Any]) -> list[ContractState]:
    """Read model rows (ordered by contract, then version) as contract states."""
    grouped: dict[uuid.UUID, list[ContractVersion]] = {}
    for row in rows:
        grouped.setdefault(row.contract_id, []).append(
            ContractVersion(
                number=row.version,
                effective_from=row.effective_from,
                terms=_terms(row.terms),
                cause=row.cause,
                reason=row.reason,
                recorded_at=row.recorded_at,
                by=row.recorded_by,
            )
        )
    return [ContractState(cid, tuple(versions)) for cid, versions in grouped.items()]


class VersionRow(BaseModel):
    """A read model row sent as JSON by a query that joins it to another table."""

    contract_id: uuid.UUID
    version: int
    effective_from: date
    cause: str
    reason: str | None
    recorded_at: datetime
    recorded_by: str
    terms: str


#: The JSON of one row, for `ARRAY(SELECT {AS_JSON} FROM intake.contract_versions v ...)`.
AS_JSON = """json_build_object('contract_id', v.contract_id, 'version', v.version,
    'effective_from', v.effective_from, 'cause', v.cause, 'reason', v.reason,
    'recorded_at', v.recorded_at, 'recorded_by', v.recorded_by, 'terms', v.terms::text)::text"""


def states_from_json(documents: Iterable[str]) -> list[ContractState]:
    return states_from_rows(VersionRow.model_validate_json(d) for d in documents)


@lru_cache(maxsize=1024)
def _terms(data: str) -> ContractTerms:
    """Terms are immutable: one validation per distinct version read."""
    return ContractTerms.model_validate_json(data)


class PostgresContractVersions:
    """The `ContractVersions` port on `intake.contract_versions`."""

    async def record(
        self, conn: AsyncConnection, state: ContractState, versions: Sequence[ContractVersion]
    ) -> None:
        await record_versions(conn, state, versions)


def contract_service(store: EventStore) -> ContractService:
    """The contract commands on PostgreSQL: the store, the read model, idempotency keys."""
    return ContractService(store, PostgresContractVersions(), PostgresIdempotencyKeys())
