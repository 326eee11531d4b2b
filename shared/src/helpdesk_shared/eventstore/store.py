"""The append-only PostgreSQL event store.

One table, `eventstore.events`. Appends are a single statement: the expected version is checked
and the rows inserted together, and the unique (stream_id, version) index turns a lost race into a
`ConcurrencyConflict` rather than an overwrite. Writers to different streams never wait on each
other. Readers of the whole log read only rows whose writing transaction is older than every
transaction still running, ordered by (tx_id, global_position): an event that commits late with a
lower position is therefore never skipped.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import TextClause, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.driver_pool import driver_pool
from helpdesk_shared.eventstore.alone import (
    FAST_APPEND,
    UNIQUE_EVENT_ID,
    UNIQUE_VERSION,
    LostRace,
    fetch_alone,
    fetch_on,
)
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
    check_batch,
    in_context,
)
from helpdesk_shared.telemetry import span


def _append_sql(prelude: str = "", merge: str | None = None) -> str:
    """The append statement. With a caller's `prelude` (common table expressions run in the same
    statement, ahead of the append's own) and `merge` (a jsonb expression over them, merged into
    every event's data and returned in the head row's `merged` column)."""
    ctes = f"{prelude}," if prelude else ""
    data, sources, first, none, merged = "CAST(n.data AS jsonb)", "head", "", "", ""
    if merge is not None:
        ctes += f" merged AS (SELECT {merge} AS data),"
        data, sources = "CAST(n.data AS jsonb) || merged.data", "head, merged"
        first, none, merged = ", NULL::text AS merged", ", NULL", ", CAST(merged.data AS text)"
    # The caller's SQL is code, as `text()` is: its values come as bound parameters.
    return f"""
    WITH {ctes} existing AS (
        SELECT stream_id, version, global_position FROM eventstore.events
        WHERE event_id = ANY(CAST(:event_ids AS uuid[]))
    ), head AS (
        SELECT coalesce(max(version), 0) AS version FROM eventstore.events
        WHERE stream_id = :stream_id
    ), inserted AS (
        INSERT INTO eventstore.events
            (stream_id, version, event_id, type, schema_version, data, metadata)
        SELECT :stream_id, head.version + n.ord, n.event_id, n.type, n.schema_version,
               {data}, CAST(n.metadata AS jsonb)
        FROM {sources}, unnest(
            CAST(:event_ids AS uuid[]), CAST(:types AS text[]), CAST(:schema_versions AS int[]),
            CAST(:datas AS text[]), CAST(:metadatas AS text[])
        ) WITH ORDINALITY AS n(event_id, type, schema_version, data, metadata, ord)
        WHERE NOT EXISTS (SELECT 1 FROM existing)
          AND (CAST(:expected AS bigint) IS NULL OR head.version = CAST(:expected AS bigint))
        ORDER BY n.ord
        RETURNING version, global_position
    )
    SELECT 'inserted' AS source, NULL AS stream_id, version, global_position{first}
    FROM inserted
    UNION ALL SELECT 'existing', stream_id, version, global_position{none} FROM existing
    UNION ALL SELECT 'head', NULL, version, NULL{merged} FROM {sources}
    """  # noqa: S608


_APPEND = text(_append_sql())


@lru_cache(maxsize=32)
def _statement_with(prelude: str, merge: str) -> TextClause:
    """A prelude's statement, built once (a caller has one or a few)."""
    return text(_append_sql(prelude, merge))


#: The same statement for asyncpg itself ($n placeholders), for appends the store runs alone.
_APPEND_PARAMS = (
    "stream_id",
    "expected",
    "event_ids",
    "types",
    "schema_versions",
    "datas",
    "metadatas",
)


def _native(statement: TextClause, names: Sequence[str]) -> str:
    """`statement` for asyncpg itself: each `:name` becomes `$n`, n its place in `names`."""
    return re.sub(
        r"(?<!:):(?!:)(\w+)", lambda m: f"${list(names).index(m.group(1)) + 1}", statement.text
    )


_APPEND_NATIVE = _native(_APPEND, _APPEND_PARAMS)

_READ_STREAM = text(
    """SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, type,
           schema_version, data::text AS data, metadata::text AS metadata, recorded_at
    FROM eventstore.events
    WHERE stream_id = :stream_id AND version >= :from_version AND version <= :to_version
    ORDER BY version"""
)

_READ_ALL = text(
    """SELECT global_position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, type,
           schema_version, data::text AS data, metadata::text AS metadata, recorded_at
    FROM eventstore.events
    WHERE (tx_id, global_position) > (CAST(CAST(:tx_id AS text) AS xid8), :position)
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.tx_id, events.global_position
    LIMIT :limit"""
)

_STREAM_VERSION = text(
    "SELECT coalesce(max(version), 0) FROM eventstore.events WHERE stream_id = :stream_id"
)

#: The reads as the store runs them alone, on the engine's own connections (`driver_pool`).
_READ_STREAM_PARAMS = ("stream_id", "from_version", "to_version")
_READ_ALL_PARAMS = ("tx_id", "position", "limit")
_NATIVE_READS = {
    statement: (_native(statement, names), names)
    for statement, names in (
        (_READ_STREAM, _READ_STREAM_PARAMS),
        (_READ_ALL, _READ_ALL_PARAMS),
        (_STREAM_VERSION, ("stream_id",)),
    )
}

#: A lost race is re-run to learn its outcome; ANY appends only lose to writers naming a version.
_MAX_ATTEMPTS = 5
#: Two-key advisory locks (class, hashtext(stream)) never collide with one-key (bigint) locks.
_STREAM_END_LOCK_CLASS = 0x45565354  # "EVST"

_LOCK_STREAM_END = text(
    f"SELECT pg_advisory_xact_lock({_STREAM_END_LOCK_CLASS}, hashtext(:stream_id))"
)


@dataclass(frozen=True)
class Prelude:
    """A caller's writes that must commit with an append and be held as briefly as it: common
    table expressions run in the append's own statement (one round trip), and `merge`, a jsonb
    expression over them merged into every appended event's data (a value only they know, such
    as a number taken from a locked counter). Named parameters in `params`; the names the append
    uses itself (`stream_id`, `expected`, `event_ids`, `types`, `schema_versions`, `datas`,
    `metadatas`; the CTEs `merged`, `existing`, `head`, `inserted`) are the store's."""

    ctes: str
    params: Mapping[str, Any]
    merge: str


class EventStore:
    """Append to and read from `eventstore.events`.

    Every method takes an optional connection: pass one to append inside your own transaction (so
    that an event and a service's own rows commit together); leave it out and the store runs its
    own short transaction.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One transaction: what is appended and written on it commits together or not at all."""
        return self._engine.begin()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection on which each statement commits by itself: no BEGIN and COMMIT
        round trips around reads, or around a single append (atomic on its own)."""
        async with self._engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    async def append(
        self,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        *,
        conn: AsyncConnection | None = None,
    ) -> AppendResult:
        """Append `events` to `stream_id` if it is at `expected_version`.

        Raises `ConcurrencyConflict` when it is not. Appending event ids that are already stored in
        this stream returns their original positions and stores nothing (idempotent retries), also
        when the retry races the original. `ExpectedVersion.ANY` appends at the end and does not
        conflict with other ANY appends. Inside the caller's transaction (`conn`), a race lost to
        a concurrent commit aborts that transaction and raises `ConcurrencyConflict` (actual -1).
        A batch naming one event id twice raises `DuplicateEventIds` before any write.
        """
        check_batch(stream_id, events)
        with span("eventstore.append", attributes={"eventstore.stream_id": stream_id}):
            return await self._append(stream_id, expected_version, in_context(events), conn)

    async def append_with(
        self,
        prelude: Prelude,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        *,
        conn: AsyncConnection,
    ) -> tuple[AppendResult, dict[str, Any]]:
        """`append` in the caller's transaction, in one statement with `prelude`'s writes; the
        result and the object merged into the events' data.

        The prelude's writes run whatever the append finds, so anything but the events stored
        now raises `ConcurrencyConflict` (also a batch stored before: its prelude would stand
        alone), and the caller's transaction must not commit. Refused in autocommit, where the
        statement would commit by itself either way.
        """
        check_batch(stream_id, events)
        if conn.sync_connection is not None and _autocommit(conn):
            raise ValueError("append_with needs the caller's transaction, not autocommit")
        clash = set(prelude.params) & set(_APPEND_PARAMS)
        if clash:
            raise ValueError(f"prelude parameters named as the append's: {sorted(clash)}")
        statement = _statement_with(prelude.ctes, prelude.merge)
        params = _append_params(stream_id, expected_version, in_context(events))
        params.update(prelude.params)
        with span("eventstore.append", attributes={"eventstore.stream_id": stream_id}):
            if expected_version is ExpectedVersion.ANY:  # as `_append_once`: the stream's end
                await conn.execute(_LOCK_STREAM_END, {"stream_id": stream_id})
            try:
                rows = (await conn.execute(statement, params)).all()
            except IntegrityError as error:
                if _constraint_name(error) in (UNIQUE_VERSION, UNIQUE_EVENT_ID):
                    raise ConcurrencyConflict(stream_id, expected_version, -1) from error
                raise
        result = _append_result(stream_id, expected_version, events, rows)
        head = next(r for r in rows if r.source == "head")
        if result.already_stored:
            raise ConcurrencyConflict(stream_id, expected_version, int(head.version))
        return result, json.loads(head.merged)

    async def _append(
        self,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        conn: AsyncConnection | None,
    ) -> AppendResult:
        if conn is not None and not _in_autocommit(conn, expected_version):
            try:
                return await _append_once(conn, stream_id, expected_version, events)
            except LostRace as race:
                # The caller's transaction is aborted: it cannot re-read, only retry its command.
                raise ConcurrencyConflict(stream_id, expected_version, -1) from race
        for attempt in range(_MAX_ATTEMPTS):
            try:
                if expected_version is ExpectedVersion.ANY:
                    async with self._engine.begin() as own:
                        return await _append_once(own, stream_id, expected_version, events)
                return await self._append_alone(
                    stream_id, expected_version, events, fast=attempt == 0, conn=conn
                )
            except LostRace:
                # Another writer committed first. Running again reports what it stored: the same
                # event ids (an idempotent retry) or a new head (a conflict with the real version).
                continue
        raise ConcurrencyConflict(stream_id, expected_version, await self.stream_version(stream_id))

    async def _append_alone(
        self,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        fast: bool,
        conn: AsyncConnection | None,
    ) -> AppendResult:
        """The append in one statement, in autocommit, on a pooled connection of its own or the
        caller's autocommit one (`alone`): first the bare INSERT, and the full statement only
        when that one stored nothing."""
        args = _append_args(stream_id, expected_version, events)

        async def fetch(statement: str) -> list[Any]:
            if conn is None:
                return await fetch_alone(self._engine, statement, args)
            return await fetch_on(conn, statement, args)

        if fast:
            try:
                inserted = await fetch(FAST_APPEND)
            except LostRace:
                inserted = []
            if inserted:
                versions = sorted((r[0], r[1]) for r in inserted)
                return AppendResult(
                    stream_id,
                    versions[0][0],
                    versions[-1][0],
                    tuple(position for _, position in versions),
                )
        records = await fetch(_APPEND_NATIVE)
        rows = [_AppendRow(*r) for r in records]
        return _append_result(stream_id, expected_version, events, rows)

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        to_version: int | None = None,
        *,
        conn: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """The events of one stream in version order, from `from_version` (inclusive)."""
        params = {
            "stream_id": stream_id,
            "from_version": from_version,
            "to_version": to_version if to_version is not None else 2**62,
        }
        return [_to_recorded(row) for row in await self._read(_READ_STREAM, params, conn)]

    async def read_all(
        self,
        after: LogPosition | None = None,
        limit: int = 1000,
        *,
        conn: AsyncConnection | None = None,
    ) -> list[RecordedEvent]:
        """Up to `limit` events of the whole log after `after`, in the final, gapless order."""
        after = after or LogPosition.start()
        params = {"tx_id": str(after.tx_id), "position": after.global_position, "limit": limit}
        return [_to_recorded(row) for row in await self._read(_READ_ALL, params, conn)]

    async def stream_version(self, stream_id: str, *, conn: AsyncConnection | None = None) -> int:
        """The stream's current version (0 when it has no events)."""
        [row] = await self._read(_STREAM_VERSION, {"stream_id": stream_id}, conn)
        return int(next(iter(row.values())))

    async def _read(
        self, statement: TextClause, params: dict[str, Any], conn: AsyncConnection | None
    ) -> Sequence[Any]:
        """The rows, as mappings: on the caller's connection, else on one of the engine's own
        asyncpg connections (no SQLAlchemy pool checkout, no result wrapping), else pooled."""
        if conn is None and driver_pool(self._engine) is not None:
            native, names = _NATIVE_READS[statement]
            return await fetch_alone(self._engine, native, [params[name] for name in names])
        if conn is not None:
            return [row._mapping for row in (await conn.execute(statement, params)).all()]
        async with self._engine.connect() as own:
            return [row._mapping for row in (await own.execute(statement, params)).all()]


async def _append_once(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int | ExpectedVersion,
    events: Sequence[NewEvent],
) -> AppendResult:
    if expected_version is ExpectedVersion.ANY:
        # Appends "at the end" of one stream wait for each other, so the append statement that
        # follows sees the head the previous one left (a new snapshot in READ COMMITTED). The
        # lock is per stream: writers of other streams, and writers naming a version, skip it.
        await conn.execute(_LOCK_STREAM_END, {"stream_id": stream_id})
    params = _append_params(stream_id, expected_version, events)
    try:
        rows = (await conn.execute(_APPEND, params)).all()
    except IntegrityError as error:
        if _constraint_name(error) in (UNIQUE_VERSION, UNIQUE_EVENT_ID):
            raise LostRace() from error
        raise
    return _append_result(stream_id, expected_version, events, rows)


class _AppendRow(NamedTuple):
    source: str
    stream_id: str | None
    version: int
    global_position: int | None


def _append_params(
    stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
) -> dict[str, Any]:
    return {
        "stream_id": stream_id,
        "expected": _expected_param(expected_version),
        "event_ids": [e.event_id for e in events],
        "types": [e.type for e in events],
        "schema_versions": [e.schema_version for e in events],
        "datas": [json.dumps(e.data) for e in events],
        "metadatas": [json.dumps(e.metadata.to_json()) for e in events],
    }


def _append_args(
    stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
) -> tuple[Any, ...]:
    """`_APPEND_NATIVE`'s arguments, in the order of its `$n` placeholders."""
    params = _append_params(stream_id, expected_version, events)
    return tuple(params[name] for name in _APPEND_PARAMS)


def _append_result(
    stream_id: str,
    expected_version: int | ExpectedVersion,
    events: Sequence[NewEvent],
    rows: Sequence[Any],
) -> AppendResult:
    inserted = [r for r in rows if r.source == "inserted"]
    existing = [r for r in rows if r.source == "existing"]
    head = next(r.version for r in rows if r.source == "head")
    if existing:
        if len(existing) != len(events) or any(r.stream_id != stream_id for r in existing):
            raise ValueError(f"some of these event ids are already stored elsewhere ({stream_id})")
        versions = sorted(r.version for r in existing)
        positions = tuple(r.global_position for r in sorted(existing, key=lambda r: r.version))
        return AppendResult(stream_id, versions[0], versions[-1], positions, already_stored=True)
    if not inserted:
        raise ConcurrencyConflict(stream_id, expected_version, int(head))
    inserted.sort(key=lambda r: r.version)
    return AppendResult(
        stream_id,
        inserted[0].version,
        inserted[-1].version,
        tuple(r.global_position for r in inserted),
    )


def _in_autocommit(conn: AsyncConnection, expected_version: int | ExpectedVersion) -> bool:
    """Whether an append on the caller's connection commits by itself (`autocommit()`), so that
    it can take the one-statement path and re-run a lost race like the store's own appends."""
    if expected_version is ExpectedVersion.ANY or conn.sync_connection is None:
        return False
    return _autocommit(conn)


def _autocommit(conn: AsyncConnection) -> bool:
    assert conn.sync_connection is not None
    options = conn.sync_connection.get_execution_options()
    return bool(options.get("isolation_level") == "AUTOCOMMIT")


def _expected_param(expected_version: int | ExpectedVersion) -> int | None:
    if expected_version is ExpectedVersion.ANY:
        return None
    if expected_version is ExpectedVersion.NO_STREAM:
        return 0
    if expected_version < 0:
        raise ValueError("expected version must be >= 0")
    return expected_version


def _constraint_name(error: IntegrityError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)


def _to_recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(
        global_position=row["global_position"],
        tx_id=row["tx_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=_as_uuid(row["event_id"]),
        type=row["type"],
        schema_version=row["schema_version"],
        data=json.loads(row["data"]),
        metadata=EventMetadata.from_json(json.loads(row["metadata"])),
        recorded_at=row["recorded_at"],
    )


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
