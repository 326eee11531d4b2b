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
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.eventstore.alone import (
    FAST_APPEND,
    FAST_APPEND_ONE,
    UNIQUE_EVENT_ID,
    UNIQUE_VERSION,
    LostRace,
    fetch_alone,
    fetch_on,
)
from helpdesk_shared.eventstore.append_sql import (
    APPEND,
    APPEND_NATIVE,
    LOCK_STREAM_END,
    STORED_NOTHING,
    AppendRow,
    Prelude,
    append_args,
    append_params,
    append_result,
    prelude_statement,
)
from helpdesk_shared.eventstore.model import (
    AppendResult,
    ConcurrencyConflict,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
    check_batch,
    in_context,
)
from helpdesk_shared.eventstore.reads import (
    READ_ALL,
    READ_STREAM,
    STREAM_VERSION,
    read,
    to_recorded,
)
from helpdesk_shared.telemetry import span

#: The public names; `Prelude` is defined with the statement it extends.
__all__ = ["EventStore", "Prelude"]

#: A lost race is re-run to learn its outcome; ANY appends only lose to writers naming a version.
_MAX_ATTEMPTS = 5


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
        """`append` in one statement with `prelude`'s writes, on the caller's connection; the
        result and the object merged into the events' data.

        The prelude's writes run whatever the append finds, so anything but the events stored
        now raises `ConcurrencyConflict` (also a batch stored before: its prelude would stand
        alone), and the caller's transaction must not commit. On an autocommit connection
        (`autocommit()`) the statement is its own transaction, and one that stored no event
        fails as a whole (`append_sql`'s `all_or_nothing`): the prelude commits with the events
        or not at all, and whatever it locks is held for the statement alone, not for a COMMIT's
        round trip and the caller's turn of the event loop before it.
        """
        check_batch(stream_id, events)
        alone = conn.sync_connection is not None and _autocommit(conn)
        if alone and expected_version is ExpectedVersion.ANY:
            raise ValueError("append_with in autocommit needs a named expected version")
        with span("eventstore.append", attributes={"eventstore.stream_id": stream_id}):
            # Stamped inside the span: the relay's publish continues the append, not its caller.
            statement, params = prelude_statement(
                prelude, stream_id, expected_version, in_context(events), all_or_nothing=alone
            )
            if expected_version is ExpectedVersion.ANY:  # as `_append_once`: the stream's end
                await conn.execute(LOCK_STREAM_END, {"stream_id": stream_id})
            try:
                rows = (await conn.execute(statement, params)).all()
            except IntegrityError as error:
                if _constraint_name(error) in (UNIQUE_VERSION, UNIQUE_EVENT_ID):
                    raise ConcurrencyConflict(stream_id, expected_version, -1) from error
                raise
            except DBAPIError as error:
                if alone and STORED_NOTHING in str(error.orig):
                    raise ConcurrencyConflict(stream_id, expected_version, -1) from error
                raise
        result = append_result(stream_id, expected_version, events, rows)
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
        # Encoded once, whatever the attempts: a lost race re-runs the statement, not the JSON.
        anywhere = expected_version is ExpectedVersion.ANY
        args = () if anywhere else append_args(stream_id, expected_version, events)
        for attempt in range(_MAX_ATTEMPTS):
            try:
                if anywhere:
                    async with self._engine.begin() as own:
                        return await _append_once(own, stream_id, expected_version, events)
                return await self._append_alone(
                    stream_id, expected_version, events, args, fast=attempt == 0, conn=conn
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
        args: tuple[Any, ...],
        fast: bool,
        conn: AsyncConnection | None,
    ) -> AppendResult:
        """The append in one statement (`args`: `append_args`), in autocommit, on a pooled
        connection of its own or the caller's autocommit one (`alone`): first the bare INSERT,
        and the full statement only when that one stored nothing."""
        if fast:
            try:
                inserted = await self._fetch(*_fast_statement(args, len(events)), conn)
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
        records = await self._fetch(APPEND_NATIVE, args, conn)
        rows = [AppendRow(*r) for r in records]
        return append_result(stream_id, expected_version, events, rows)

    async def _fetch(
        self, statement: str, args: Sequence[Any], conn: AsyncConnection | None
    ) -> list[Any]:
        """`statement`'s rows on a connection of the store's own, or the caller's autocommit one."""
        if conn is None:
            return await fetch_alone(self._engine, statement, args)
        return await fetch_on(conn, statement, args)

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
        return [to_recorded(row) for row in await read(self._engine, READ_STREAM, params, conn)]

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
        return [to_recorded(row) for row in await read(self._engine, READ_ALL, params, conn)]

    async def stream_version(self, stream_id: str, *, conn: AsyncConnection | None = None) -> int:
        """The stream's current version (0 when it has no events)."""
        [row] = await read(self._engine, STREAM_VERSION, {"stream_id": stream_id}, conn)
        return int(next(iter(row.values())))


async def _append_once(
    conn: AsyncConnection,
    stream_id: str,
    expected_version: int | ExpectedVersion,
    events: Sequence[NewEvent],
) -> AppendResult:
    """The full statement on `conn`, in its transaction; `LostRace` when a concurrent commit took
    the version or one of the event ids first (the caller decides: re-run or conflict)."""
    if expected_version is ExpectedVersion.ANY:
        # Appends "at the end" of one stream wait for each other, so the append statement that
        # follows sees the head the previous one left (a new snapshot in READ COMMITTED). The
        # lock is per stream: writers of other streams, and writers naming a version, skip it.
        await conn.execute(LOCK_STREAM_END, {"stream_id": stream_id})
    params = append_params(stream_id, expected_version, events)
    try:
        rows = (await conn.execute(APPEND, params)).all()
    except IntegrityError as error:
        if _constraint_name(error) in (UNIQUE_VERSION, UNIQUE_EVENT_ID):
            raise LostRace() from error
        raise
    return append_result(stream_id, expected_version, events, rows)


def _fast_statement(args: tuple[Any, ...], count: int) -> tuple[str, tuple[Any, ...]]:
    """The fast statement for `count` events and its arguments: one event's columns as scalars
    (`FAST_APPEND_ONE`), several as arrays (`FAST_APPEND`)."""
    if count == 1:
        return FAST_APPEND_ONE, (*args[:2], *(column[0] for column in args[2:]))
    return FAST_APPEND, args


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


def _constraint_name(error: IntegrityError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(error.orig, "constraint_name", None)
