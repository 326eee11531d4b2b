"""The per-stream ordering of a consumer: events of one stream are handled one after the other.

Deliveries of different streams are handled concurrently (up to the prefetch); those of one
stream wait for each other, in delivery order, on that stream's lock. A lock lives only while
some delivery holds or awaits it, so a consumer that saw millions of streams keeps none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class StreamLocks:
    """One lock per stream being handled, forgotten once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, _StreamLock] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, stream_id: str) -> AsyncIterator[None]:
        """Serialise the events of one stream; forget its lock once nobody holds or awaits it."""
        entry = self._locks.setdefault(stream_id, _StreamLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(stream_id, None)


class _StreamLock:
    """A lock and how many messages hold or await it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0
