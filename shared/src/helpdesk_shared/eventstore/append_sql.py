"""The append statement, its parameters, and what its rows say.

One statement checks the expected version and inserts the rows together, so a writer holds
nothing between a read and its write; the unique (stream_id, version) index turns a lost race
into a broken constraint rather than an overwrite. Its rows say which of three outcomes happened:
`inserted` (stored now), `existing` (these event ids were stored before: an idempotent retry), or
only `head` (the stream is elsewhere: a conflict, with the real version to report).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic_core import to_json
from sqlalchemy import TextClause, text

from helpdesk_shared.eventstore.alone import native
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ConcurrencyConflict,
    EventMetadata,
    ExpectedVersion,
    NewEvent,
)

#: What the all-or-nothing statement fails with when its append stored nothing.
STORED_NOTHING = "append stored nothing"
_GUARD = f""", guard AS (
        SELECT CAST(CASE WHEN count(*) = 0 THEN '{STORED_NOTHING}' ELSE '1' END AS int) AS ok
        FROM inserted
    )"""  # noqa: S608 - a constant of this module


def append_sql(prelude: str = "", merge: str | None = None, all_or_nothing: bool = False) -> str:
    """The append statement. With a caller's `prelude` (common table expressions run in the same
    statement, ahead of the append's own) and `merge` (a jsonb expression over them, merged into
    every event's data and returned in the head row's `merged` column).

    `all_or_nothing`: the statement fails (`STORED_NOTHING`, SQLSTATE 22P02) when its append
    stored no row, so that run in autocommit its prelude's writes never commit alone. The text is
    cast from a value computed per row (the count), never folded into a constant at planning."""
    ctes = f"{prelude}," if prelude else ""
    data, sources, first, none, merged = "CAST(n.data AS jsonb)", "head", "", "", ""
    if merge is not None:
        ctes += f" merged AS (SELECT {merge} AS data),"
        data, sources = "CAST(n.data AS jsonb) || merged.data", "head, merged"
        first, none, merged = ", NULL::text AS merged", ", NULL", ", CAST(merged.data AS text)"
    guard, head_sources = "", sources
    if all_or_nothing:
        guard = _GUARD
        # Used in a condition: an unused output of a subquery is never computed.
        head_sources = f"{sources}, guard WHERE guard.ok = 1"
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
    ){guard}
    SELECT 'inserted' AS source, NULL AS stream_id, version, global_position{first}
    FROM inserted
    UNION ALL SELECT 'existing', stream_id, version, global_position{none} FROM existing
    UNION ALL SELECT 'head', NULL, version, NULL{merged} FROM {head_sources}
    """  # noqa: S608


APPEND = text(append_sql())


@lru_cache(maxsize=32)
def statement_with(prelude: str, merge: str, all_or_nothing: bool = False) -> TextClause:
    """A prelude's statement, built once (a caller has one or a few)."""
    return text(append_sql(prelude, merge, all_or_nothing))


#: The append's own parameter names; a prelude may not reuse them.
APPEND_PARAMS = (
    "stream_id",
    "expected",
    "event_ids",
    "types",
    "schema_versions",
    "datas",
    "metadatas",
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


def prelude_statement(
    prelude: Prelude,
    stream_id: str,
    expected_version: int | ExpectedVersion,
    events: Sequence[NewEvent],
    all_or_nothing: bool = False,
) -> tuple[TextClause, dict[str, Any]]:
    """The statement and parameters of an append with `prelude`. A prelude parameter named as one
    of the append's would silently replace its value, so it is refused."""
    clash = set(prelude.params) & set(APPEND_PARAMS)
    if clash:
        raise ValueError(f"prelude parameters named as the append's: {sorted(clash)}")
    statement = statement_with(prelude.ctes, prelude.merge, all_or_nothing)
    params = append_params(stream_id, expected_version, events)
    params.update(prelude.params)
    return statement, params


#: The same statement for asyncpg itself ($n placeholders), for appends the store runs alone.
APPEND_NATIVE = native(APPEND, APPEND_PARAMS)

#: Two-key advisory locks (class, hashtext(stream)) never collide with one-key (bigint) locks.
STREAM_END_LOCK_CLASS = 0x45565354  # "EVST"

#: Taken before an ANY append, so that appends "at the end" of one stream wait for each other.
LOCK_STREAM_END = text(
    f"SELECT pg_advisory_xact_lock({STREAM_END_LOCK_CLASS}, hashtext(:stream_id))"
)


class AppendRow(NamedTuple):
    """A row of `APPEND_NATIVE` (asyncpg's records carry no attribute names)."""

    source: str
    stream_id: str | None
    version: int
    global_position: int | None


#: The events' columns, as the statement's arrays: ids, types, schema versions, data, metadata.
Columns = tuple[list[uuid.UUID], list[str], list[int], list[str], list[str]]


def event_columns(events: Sequence[NewEvent]) -> Columns:
    """The events' columns, built in one pass, each event's data and metadata encoded to JSON
    once: the largest part of an append's client CPU per event that is the store's own
    (docs/performance.md).

    pydantic's encoder (Rust) takes about a third of the time `json.dumps` does on the events'
    bodies.
    Its text is the same JSON value: compact, non-ASCII characters written as they are rather
    than escaped, which `jsonb` stores identically. It also encodes values `json.dumps` refuses
    (a `UUID`, a `datetime`: as their JSON strings); an event's data is meant to be JSON already
    (`DomainEvent.to_data`). The events of one command share their metadata object: it is
    encoded once for all of them."""
    ids: list[uuid.UUID] = []
    types: list[str] = []
    versions: list[int] = []
    datas: list[str] = []
    metadatas: list[str] = []
    last: EventMetadata | None = None
    encoded = ""
    for event in events:
        ids.append(event.event_id)
        types.append(event.type)
        versions.append(event.schema_version)
        datas.append(to_json(event.data).decode())
        if event.metadata is not last:
            last = event.metadata
            encoded = to_json(last.to_json()).decode()
        metadatas.append(encoded)
    return ids, types, versions, datas, metadatas


def append_params(
    stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
) -> dict[str, Any]:
    """The append's bound parameters: the events' columns as arrays, one statement for a batch."""
    ids, types, versions, datas, metadatas = event_columns(events)
    return {
        "stream_id": stream_id,
        "expected": _expected_param(expected_version),
        "event_ids": ids,
        "types": types,
        "schema_versions": versions,
        "datas": datas,
        "metadatas": metadatas,
    }


def append_args(
    stream_id: str, expected_version: int | ExpectedVersion, events: Sequence[NewEvent]
) -> tuple[Any, ...]:
    """`APPEND_NATIVE`'s (and `FAST_APPEND`'s) arguments, in the order of their `$n`
    placeholders (`APPEND_PARAMS`)."""
    return (stream_id, _expected_param(expected_version), *event_columns(events))


def append_result(
    stream_id: str,
    expected_version: int | ExpectedVersion,
    events: Sequence[NewEvent],
    rows: Sequence[Any],
) -> AppendResult:
    """The outcome the statement's rows report: stored now, stored before (all of this batch, in
    this stream, or it is a misuse), or a `ConcurrencyConflict` with the stream's real head."""
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


def _expected_param(expected_version: int | ExpectedVersion) -> int | None:
    """NULL for ANY (no check), 0 for a new stream, else the version the head must be at."""
    if expected_version is ExpectedVersion.ANY:
        return None
    if expected_version is ExpectedVersion.NO_STREAM:
        return 0
    if expected_version < 0:
        raise ValueError("expected version must be >= 0")
    return expected_version
