"""Recent ticket states kept in memory (and long ones on disk), so loading a long stream reads only
its new events.

Events are immutable, so a state rebuilt up to version N stays true forever: it never needs
invalidating, only topping up from version N + 1. The memory cache is per process and bounded
(least recently used out); on a miss, a snapshot of a long stream spares the full replay.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.eventstore.store import EventStore
from helpdesk_ticket.adapters.snapshots import EVERY, load_snapshot, save_snapshot
from helpdesk_ticket.domain.evolve import evolve
from helpdesk_ticket.domain.state import Ticket


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection on which each statement commits by itself: no BEGIN and COMMIT round
    trips around reads, or around a single append (atomic on its own)."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


class StateCache:
    def __init__(self, store: EventStore, size: int = 10_000) -> None:
        self._store = store
        self._size = size
        self._items: OrderedDict[str, tuple[int, Ticket]] = OrderedDict()

    async def state(
        self, stream: str, upto: int | None = None, *, conn: AsyncConnection | None = None
    ) -> tuple[int, Ticket | None]:
        """The stream's version and ticket, at `upto` (default: the latest)."""
        if conn is None:
            async with autocommit(self._store.engine) as own:
                return await self._state(stream, upto, own)
        return await self._state(stream, upto, conn)

    async def _state(
        self, stream: str, upto: int | None, conn: AsyncConnection
    ) -> tuple[int, Ticket | None]:
        cached = self._items.get(stream)
        if cached is not None and upto is not None and cached[0] > upto:
            cached = None  # an older state is asked for (a rebuild): start again
        if cached is None:
            cached = await load_snapshot(conn, stream, upto)
        version, state = cached if cached is not None else (0, None)
        if upto is not None and version == upto and state is not None:
            return version, state  # exactly the state asked for (the projection's usual case)
        events = await self._store.read_stream(stream, version + 1, upto, conn=conn)
        for recorded in events:
            state = evolve(state, recorded.to_domain())
            version = recorded.version
        if state is not None:
            self.remember(stream, version, state)
            if len(events) >= EVERY:
                await save_snapshot(conn, stream, version, state)
        return version, state

    def remember(self, stream: str, version: int, state: Ticket) -> None:
        known = self._items.get(stream)
        if known is not None and known[0] > version:
            return
        self._items[stream] = (version, state)
        self._items.move_to_end(stream)
        while len(self._items) > self._size:
            self._items.popitem(last=False)
