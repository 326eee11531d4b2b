"""`Idempotency-Key` for creating POSTs: a retried request gets the first answer back.

Use inside the transaction that does the work:

    async with engine.begin() as conn:
        guard = await IdempotencyGuard.claim(conn, scope, key, body_bytes)
        if guard.replay is not None:
            return guard.replay          # same key, same request: the stored answer
        ...append the events, write the rows...
        await guard.remember(201, body, location)   # same transaction as the append

`claim` takes a transaction-scoped advisory lock on (scope, key), so two concurrent requests with
the same key run one after the other: the second sees the first's stored answer instead of doing
the work again. Because the answer is stored in the same transaction as the work, a crash between
the two is impossible: either both commit or neither does. Same key with a different request body
answers 422 (the key was reused for something else).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Header
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from helpdesk_shared.http.problems import Problem, field_error, invalid_input

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
#: The header as a route parameter: every route that honours it declares it in OpenAPI so.
KEY_DESCRIPTION = (
    f"1 to {MAX_KEY_LENGTH} printable characters: a retry with the same key and "
    "body is applied once and gets the first answer (the same key with another body: 422)."
)
KeyHeader = Annotated[str | None, Header(alias=HEADER, description=KEY_DESCRIPTION)]

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:scope || ' ' || :key, 0))")
_FIND = text(
    """SELECT request_hash, status_code, body::text AS body, location
    FROM infra.idempotency_keys WHERE scope = :scope AND key = :key"""
)
_STORE = text(
    """INSERT INTO infra.idempotency_keys (scope, key, request_hash, status_code, body, location)
    VALUES (:scope, :key, :request_hash, :status_code, CAST(:body AS jsonb), :location)"""
)


@dataclass(frozen=True)
class StoredResponse:
    """The answer given the first time, replayed on every retry."""

    status_code: int
    body: dict[str, Any]
    location: str | None = None


def request_fingerprint(payload: bytes | str | dict[str, Any]) -> str:
    """A stable hash of the request (dicts are hashed in canonical JSON, so key order is moot)."""
    if isinstance(payload, dict):
        payload = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    if isinstance(payload, str):
        payload = payload.encode()
    return hashlib.sha256(payload).hexdigest()


def validate_key(key: str | None) -> str | None:
    """The key as sent, or a 422 problem naming the header when it is unusable."""
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid_input(
            [field_error("header", [HEADER], "invalid")],
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
        )
    return key


def _reused() -> Problem:
    return Problem(
        422,
        "Clé d'idempotence réutilisée",
        f"This {HEADER} was already used for a different request.",
        type_="urn:helpdesk:problem:idempotency-key-reused",
        errors=[field_error("header", [HEADER], "reused")],
    )


class Claim(Protocol):
    """A key claimed in a unit of work: the stored answer, or where to store the new one."""

    @property
    def replay(self) -> StoredResponse | None: ...

    async def remember(
        self, status_code: int, body: dict[str, Any], location: str | None = None
    ) -> None: ...


class IdempotencyKeys(Protocol):
    """The port handlers use: claim a key in the unit of work that does the work."""

    async def claim(
        self, conn: Any, scope: str, key: str | None, payload: bytes | str | dict[str, Any]
    ) -> Claim: ...


@dataclass
class IdempotencyGuard:
    """One claimed key inside one transaction. A guard without a key does nothing."""

    conn: AsyncConnection
    scope: str
    key: str | None
    request_hash: str
    replay: StoredResponse | None = None

    @classmethod
    async def claim(
        cls,
        conn: AsyncConnection,
        scope: str,
        key: str | None,
        payload: bytes | str | dict[str, Any],
    ) -> IdempotencyGuard:
        """Lock the key for this transaction and load a stored answer, if any."""
        guard = cls(conn, scope, validate_key(key), request_fingerprint(payload))
        if guard.key is None:
            return guard
        params = {"scope": scope, "key": guard.key}
        await conn.execute(_LOCK, params)
        row = (await conn.execute(_FIND, params)).first()
        if row is None:
            return guard
        if row.request_hash != guard.request_hash:
            raise _reused()
        guard.replay = StoredResponse(row.status_code, json.loads(row.body), row.location)
        return guard

    async def remember(
        self, status_code: int, body: dict[str, Any], location: str | None = None
    ) -> None:
        """Store the answer in the caller's transaction (no-op without a key)."""
        if self.key is None:
            return
        await self.conn.execute(
            _STORE,
            {
                "scope": self.scope,
                "key": self.key,
                "request_hash": self.request_hash,
                "status_code": status_code,
                "body": json.dumps(body, default=str),
                "location": location,
            },
        )


class PostgresIdempotencyKeys:
    """`IdempotencyKeys` on `infra.idempotency_keys` (an `IdempotencyGuard` per claim)."""

    async def claim(
        self,
        conn: AsyncConnection,
        scope: str,
        key: str | None,
        payload: bytes | str | dict[str, Any],
    ) -> IdempotencyGuard:
        return await IdempotencyGuard.claim(conn, scope, key, payload)


@dataclass
class _MemoryClaim:
    keys: MemoryIdempotencyKeys
    scope: str
    key: str | None
    request_hash: str
    replay: StoredResponse | None = None

    async def remember(
        self, status_code: int, body: dict[str, Any], location: str | None = None
    ) -> None:
        if self.key is not None:
            answer = StoredResponse(status_code, body, location)
            self.keys.answers[(self.scope, self.key)] = (self.request_hash, answer)


class MemoryIdempotencyKeys:
    """`IdempotencyKeys` in a dict, for handler tests: same validation, replay and refusal."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[str, StoredResponse]] = {}

    async def claim(
        self, conn: Any, scope: str, key: str | None, payload: bytes | str | dict[str, Any]
    ) -> _MemoryClaim:
        claim = _MemoryClaim(self, scope, validate_key(key), request_fingerprint(payload))
        stored = self.answers.get((scope, claim.key)) if claim.key is not None else None
        if stored is not None:
            if stored[0] != claim.request_hash:
                raise _reused()
            claim.replay = stored[1]
        return claim
