"""What the kernel needs from the outside, as protocols: the event store and snapshots.

Both the PostgreSQL store (`helpdesk_shared.eventstore.store`) and the in-memory one
(`helpdesk_shared.eventstore.memory`) satisfy `EventStore`; one contract test suite runs against
both. A unit of work's connection is opaque to the application: PostgreSQL hands out an
`AsyncConnection`, memory `None`; handlers only pass it on to the store and to the other ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from helpdesk_shared.eventstore.model import (
    AppendResult,
    ExpectedVersion,
    LogPosition,
    NewEvent,
    RecordedEvent,
)

S = TypeVar("S")

#: The unit of work's handle (a database connection, or None in memory): passed, never opened.
Connection = Any


class EventStore(Protocol):
    """Append-only streams and the whole log. `conn=None`: the store runs its own unit of work."""

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """Everything appended and written on the connection commits together or not at all."""
        ...

    def autocommit(self) -> AbstractAsyncContextManager[Connection]:
        """Each statement commits by itself: reads and one append with no BEGIN/COMMIT."""
        ...

    async def append(
        self,
        stream_id: str,
        expected_version: int | ExpectedVersion,
        events: Sequence[NewEvent],
        *,
        conn: Connection = None,
    ) -> AppendResult: ...

    async def read_stream(
        self,
        stream_id: str,
        from_version: int = 1,
        to_version: int | None = None,
        *,
        conn: Connection = None,
    ) -> list[RecordedEvent]: ...

    async def read_all(
        self, after: LogPosition | None = None, limit: int = 1000, *, conn: Connection = None
    ) -> list[RecordedEvent]: ...

    async def stream_version(self, stream_id: str, *, conn: Connection = None) -> int: ...


class Snapshots(Protocol[S]):
    """States saved on the side so a cold process skips replaying a long stream. A cache, never
    a source of truth: a snapshot it cannot read is `None`, and the stream is replayed."""

    #: Save one when loading replayed at least this many events.
    every: int

    async def load(
        self, stream_id: str, upto: int | None, *, conn: Connection
    ) -> tuple[int, S] | None:
        """The latest snapshot at or below `upto`. `conn` may be None (no unit of work): the
        port then looks it up on a connection of its own."""
        ...

    async def load_with_events(
        self, stream_id: str, upto: int | None, *, conn: Connection
    ) -> tuple[tuple[int, S] | None, list[RecordedEvent]] | None:
        """`load` and the stream's events after that snapshot (from the stream's start when
        there is none) up to `upto`, in one round trip: a state not in memory costs one read,
        not two. None when the snapshot is unreadable: the caller reads the whole stream."""
        ...

    async def save(self, stream_id: str, version: int, state: S, *, conn: Connection) -> None: ...
