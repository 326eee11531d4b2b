"""The openings of one process take a counter's next number one at a time, in the event loop.

A reference number is gapless: the counter's row stays locked from the numbering statement to
the commit (`tickets.open_numbered`). Openings of this process that reach that statement while
another holds the row would each send it and wait in PostgreSQL, on a pooled connection, for the
holder's commit. Here they wait on an `asyncio.Lock` of the counter, taken before the statement
and given back once the transaction has ended (committed or rolled back), so only one opening of
the process at a time is inside PostgreSQL's wait for a given counter.

The row lock still decides between processes (replicas): the turn only orders this process's own
openings before they reach it, and numbering stays correct without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

#: A counter: its reference prefix and year (`INC`, 2026).
CounterKey = tuple[str, int]


class CounterTurns:
    """One lock per counter, for every transaction of this process (kept: counters are few)."""

    def __init__(self) -> None:
        self._locks: dict[CounterKey, asyncio.Lock] = {}

    def lock(self, key: CounterKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    @asynccontextmanager
    async def held(self) -> AsyncIterator[HeldTurn]:
        """The turn a transaction may take; enter it before the transaction, so that it is
        given back after the transaction's end, whatever that end is."""
        turn = HeldTurn(self)
        try:
            yield turn
        finally:
            turn.release()


class HeldTurn:
    """The counter lock one transaction holds, at most one: taking a second counter's lock
    while holding one could wait forever on another transaction taking them in the other order
    (PostgreSQL would detect that deadlock on the rows; nothing detects it in the event loop),
    so a second counter is left to its row lock alone."""

    def __init__(self, turns: CounterTurns) -> None:
        self._turns = turns
        self._held: asyncio.Lock | None = None
        self._key: CounterKey | None = None

    async def take(self, key: CounterKey) -> None:
        """Wait for `key`'s turn, unless this transaction already holds a turn."""
        if self._held is not None:
            return
        lock = self._turns.lock(key)
        await lock.acquire()
        self._held, self._key = lock, key

    def release(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = self._key = None

    @property
    def key(self) -> CounterKey | None:
        """The counter whose turn is held (None: none)."""
        return self._key
