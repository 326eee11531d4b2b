"""Recent aggregate states kept in memory (and long ones as snapshots), so loading a long stream
reads only its new events.

Events are immutable, so a state rebuilt up to version N stays true forever: it never needs
invalidating, only topping up from version N + 1. The memory cache is per process and bounded
(least recently used out); on a miss, a snapshot of a long stream spares the full replay.

A state this process's own append produced is marked `own` (`own_state`): a command may be
decided on it without the top-up read, because the append names that version and so turns
another writer's event in between into a conflict, never into a decision on a stale state.
Every other load (a read for an answer) is topped up: another replica may have moved on.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, NamedTuple, TypeVar

from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.kernel.decider import Decider, replay
from helpdesk_shared.kernel.ports import Connection, EventStore, Snapshots

S = TypeVar("S")

#: States kept per aggregate type and process unless configured otherwise.
DEFAULT_CACHE_SIZE = 10_000


class _Entry(NamedTuple, Generic[S]):
    version: int
    state: S
    #: This process's own committed append produced it (no other writer seen since).
    own: bool


class StateCache(Generic[S]):
    """At most `size` states, least recently used out (0 keeps none: every load reads the log or
    a snapshot). The size bounds the process's memory: each entry is one aggregate's state."""

    def __init__(
        self,
        store: EventStore,
        decider: Decider[Any, S, Any],
        snapshots: Snapshots[S] | None = None,
        size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._store = store
        self._decider = decider
        self._snapshots = snapshots
        self._size = size
        self._items: OrderedDict[str, _Entry[S]] = OrderedDict()

    def __len__(self) -> int:
        """How many states are held now (exported as a gauge: it levels off at `size`)."""
        return len(self._items)

    @property
    def size(self) -> int:
        return self._size

    async def state(
        self, stream: str, upto: int | None = None, *, conn: Connection = None
    ) -> tuple[int, S | None]:
        """The stream's version and state, at `upto` (default: the latest). Without `conn`, the
        stream is read by the store alone (one statement, no checkout ping), or, for a state not
        in memory, with its snapshot by the port on its own (one statement too), and a snapshot
        written on a connection of its own, in autocommit."""
        return await self._state(stream, upto, conn)

    async def after(self, event: RecordedEvent, *, conn: Connection = None) -> tuple[int, S | None]:
        """The state of `event`'s stream right after it. When the state just before it is known
        (in memory, or the initial state before a stream's first event: a follower such as the
        list projection, handed each event of the log in turn), the event in hand is folded into
        it: no read. Otherwise as `state(stream, version)`."""
        entry = self._items.get(event.stream_id)
        if event.version == 1:
            before = None  # `replay` starts from the decider's initial state
        elif entry is not None and entry.version == event.version - 1:
            before = entry.state
        else:
            return await self._state(event.stream_id, event.version, conn)
        state = replay(self._decider, [event], before)
        if state is not None:
            self.remember(event.stream_id, event.version, state)
        return event.version, state

    def own_state(self, stream: str) -> tuple[int, S] | None:
        """The version and state that this process's own append left, if no other writer was
        seen since: for a command whose append names that version (never for an answer)."""
        entry = self._items.get(stream)
        if entry is None or not entry.own:
            return None
        self._items.move_to_end(stream)
        return entry.version, entry.state

    async def _state(self, stream: str, upto: int | None, conn: Connection) -> tuple[int, S | None]:
        entry = self._items.get(stream)
        cached = entry[:2] if entry is not None else None
        if cached is not None and upto is not None and cached[0] > upto:
            cached = None  # an older state is asked for (a rebuild): start again
        read: list[RecordedEvent] | None = None
        if cached is None and self._snapshots is not None:
            # Not in memory: the snapshot and the events after it in one statement.
            found = await self._snapshots.load_with_events(stream, upto, conn=conn)
            cached, read = found if found is not None else (None, None)
        version, start = cached if cached is not None else (0, None)
        if upto is not None and version == upto and start is not None:
            return version, start  # exactly the state asked for (the projection's usual case)
        events = (
            read
            if read is not None
            else await self._store.read_stream(stream, version + 1, upto, conn=conn)
        )
        state = replay(self._decider, events, start) if events else start
        if events:
            version = events[-1].version
        if state is not None:
            # Still this process's own when the top-up found nothing newer.
            own = entry is not None and entry.own and entry.version == version
            self.remember(stream, version, state, own=own)
            if self._snapshots is not None and len(events) >= self._snapshots.every:
                await self._save_snapshot(stream, version, state, conn)
        return version, state

    async def _save_snapshot(self, stream: str, version: int, state: S, conn: Connection) -> None:
        assert self._snapshots is not None
        if conn is not None:
            await self._snapshots.save(stream, version, state, conn=conn)
            return
        async with self._store.autocommit() as own:
            await self._snapshots.save(stream, version, state, conn=own)

    def remember(self, stream: str, version: int, state: S, *, own: bool = False) -> None:
        """Only committed states may enter (a rolled-back one would poison the cache); `own`
        when this process's append just committed `version`."""
        known = self._items.get(stream)
        if known is not None and known.version > version:
            return
        self._items[stream] = _Entry(version, state, own)
        self._items.move_to_end(stream)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
