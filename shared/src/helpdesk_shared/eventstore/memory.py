"""An event store in memory, with the PostgreSQL store's semantics: for handler tests and tools
that need no database.

The same contract test suite runs against both stores (shared/tests/contract), so what a handler
test proves on this one holds on PostgreSQL: expected versions, conflicts, idempotent re-appends,
the log order, refused batches. It has no transactions: `transaction()` and `autocommit()` hand
out `None` as the connection, and nothing written before a failure is rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

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


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MemoryEventStore:
    """Streams and the whole log in lists. Every method runs without awaiting anything, so each
    call is atomic under asyncio, as one PostgreSQL statement is."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._log: list[RecordedEvent] = []
        self._by_id: dict[Any, RecordedEvent] = {}
        self._tx_id = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield None

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[None]:
        yield None

    async def append(
        self,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        *,
        conn: Any = None,
    ) -> AppendResult:
        """As `EventStore.append`: conflicts, idempotent re-appends, refused batches."""
        check_batch(stream_id, events)
        stored = [self._by_id[e.event_id] for e in events if e.event_id in self._by_id]
        if stored:
            if len(stored) != len(events) or any(r.stream_id != stream_id for r in stored):
                raise ValueError(
                    f"some of these event ids are already stored elsewhere ({stream_id})"
                )
            stored.sort(key=lambda r: r.version)
            positions = tuple(r.global_position for r in stored)
            return AppendResult(
                stream_id, stored[0].version, stored[-1].version, positions, already_stored=True
            )
        stream = self._streams.setdefault(stream_id, [])
        head = len(stream)
        _check_expected(stream_id, expected_version, head)
        self._tx_id += 1
        now = self._clock()
        for offset, event in enumerate(in_context(events), start=1):
            recorded = RecordedEvent(
                global_position=len(self._log) + 1,
                tx_id=self._tx_id,
                stream_id=stream_id,
                version=head + offset,
                event_id=event.event_id,
                type=event.type,
                schema_version=event.schema_version,
                data=event.data,
                metadata=event.metadata,
                recorded_at=now,
            )
            stream.append(recorded)
            self._log.append(recorded)
            self._by_id[event.event_id] = recorded
        added = stream[head:]
        return AppendResult(
            stream_id, head + 1, len(stream), tuple(r.global_position for r in added)
        )

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        to_version: int | None = None,
        *,
        conn: Any = None,
    ) -> list[RecordedEvent]:
        stream = self._streams.get(stream_id, [])
        last = len(stream) if to_version is None else min(to_version, len(stream))
        return stream[max(from_version, 1) - 1 : max(last, 0)]

    async def read_all(
        self, after: LogPosition | None = None, limit: int = 1000, *, conn: Any = None
    ) -> list[RecordedEvent]:
        after = after or LogPosition.start()
        # Positions grow with transactions here, so the log's list order is the reading order.
        found = (r for r in self._log if r.log_position > after)
        return [r for _, r in zip(range(limit), found, strict=False)]

    async def stream_version(self, stream_id: str, *, conn: Any = None) -> int:
        return len(self._streams.get(stream_id, []))


def _check_expected(stream_id: str, expected: int | ExpectedVersion, head: int) -> None:
    if expected is ExpectedVersion.ANY:
        return
    if expected is ExpectedVersion.NO_STREAM:
        wanted = 0
    elif expected < 0:
        raise ValueError("expected version must be >= 0")
    else:
        wanted = expected
    if head != wanted:
        raise ConcurrencyConflict(stream_id, expected, head)
